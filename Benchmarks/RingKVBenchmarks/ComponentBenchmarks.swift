import Benchmark
import Glibc
import RingIO
import RingKVBenchmarkSupport

// Engine components below the public API, reached through RingKV's
// `BenchmarkHooks` SPI: memtable insert and lookup, block encode/decode,
// bloom filter probes, and writing one SSTable (O_DIRECT, LZ4, fsync).
func componentBenchmarks() {
    let keys = BenchmarkHooks.internalKeys(count: 10_000)
    let userKeys = keys.map { Array($0.dropLast(8)) }
    let value = [UInt8](repeating: 0x62, count: 100)

    Benchmark("memtable insert 10k entries") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(BenchmarkHooks.memtableInsert(keys, value: value)) }
    }

    let memtable = BenchmarkHooks.memtable(holding: keys, value: value)
    Benchmark("memtable lookup", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var rng = PickRandom.fresh()
        for _ in benchmark.scaledIterations {
            blackHole(BenchmarkHooks.memtableLookup(memtable, userKey: userKeys[rng.below(userKeys.count)]))
        }
    }

    // About one 4 KiB block's worth of entries.
    let blockKeys = Array(keys.prefix(32))
    Benchmark("block encode 32 entries", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(BenchmarkHooks.encodeBlock(blockKeys, value: value)) }
    }
    let encoded = BenchmarkHooks.encodeBlock(blockKeys, value: value)
    Benchmark("block decode + scan 32 entries", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try BenchmarkHooks.decodeBlock(encoded)) }
    }

    let bloom = BenchmarkHooks.bloom(userKeys: userKeys)
    let absent = (0..<1024).map { Array("absent\($0)".utf8) }
    Benchmark("bloom probe (absent key)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var rng = PickRandom.fresh()
        for _ in benchmark.scaledIterations {
            blackHole(BenchmarkHooks.bloomMayContain(bloom, absent[rng.below(absent.count)]))
        }
    }

    Benchmark("sst write 10k x 100 B (O_DIRECT, fsync)") { benchmark in
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "ringkv-bench-sst")
        defer { try? FileSystem.removeTree(dir) }
        for i in benchmark.scaledIterations {
            blackHole(try BenchmarkHooks.writeTable(path: dir + "/\(i).sst", keys, value: value))
        }
    }
}
