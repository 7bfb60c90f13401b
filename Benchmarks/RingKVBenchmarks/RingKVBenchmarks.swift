import Benchmark
import CLZ4
import CRingSupport
import Foundation
import Glibc
import MetricsTestKit
import RingKV

// Micro-benchmarks through RingKV's public API (DB, WriteBatch, iterators),
// plus the C routines behind CRC32C and LZ4 (reached through the transitive
// CRingSupport / CLZ4 modules, the exact calls the engine's wrappers make).
// No thresholds: these are for comparing runs, not for gating CI.
let benchmarks: @Sendable () -> Void = {
    // RINGKV_BENCH_QUICK=1: a smoke run (few iterations) that only shows
    // everything still builds and runs.
    let quick = getenv("RINGKV_BENCH_QUICK") != nil
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: quick ? 1 : 3,
        maxDuration: quick ? .milliseconds(200) : .seconds(2),
        maxIterations: quick ? 20 : 10_000
    )
    let records = 100_000
    componentBenchmarks()

    // MARK: - WAL group commit

    let putSync1 = FixtureSlot()
    Benchmark("put sync, 1 thread", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark, f in
        let value = [UInt8](repeating: 0x62, count: 100)
        for i in benchmark.scaledIterations {
            try f.db.put(Fixture.key(i), value, options: WriteOptions(sync: true))
        }
    } setup: {
        putSync1.keep(try Fixture())
    } teardown: {
        putSync1.close()
    }

    // One iteration = 8 threads x 16 synced puts, committed in shared groups.
    let putSync8 = FixtureSlot()
    Benchmark("put sync, 8 threads x 16 puts", configuration: .init(metrics: [.wallClock, .throughput])) {
        benchmark, f in
        let value = [UInt8](repeating: 0x63, count: 100)
        for iteration in benchmark.scaledIterations {
            onThreads(8) { thread in
                for j in 0..<16 {
                    _ = try? f.db.put(Fixture.key((iteration * 8 + thread) * 16 + j), value,
                                      options: WriteOptions(sync: true))
                }
            }
        }
    } setup: {
        putSync8.keep(try Fixture())
    } teardown: {
        putSync8.close()
    }

    let putNoSync = FixtureSlot()
    Benchmark("put no sync, 1 thread", configuration: .init(scalingFactor: .kilo)) { benchmark, f in
        let value = [UInt8](repeating: 0x64, count: 100)
        var rng = PickRandom(seed: 1)
        for _ in benchmark.scaledIterations {
            try f.db.put(Fixture.key(rng.below(1 << 30)), value)
        }
    } setup: {
        putNoSync.keep(try Fixture())
    } teardown: {
        putNoSync.close()
    }

    // 1000 puts per iteration, key and value buffers reused and changed in
    // place (as kvbench does): the malloc count per iteration over 1000 is
    // the engine's per put (issue #11 asks for at most 2). The harness
    // itself counts about 2 per iteration (measured with the puts left out).
    // The same with a metrics backend: `Options.metricsFactory` set (swift-
    // metrics' test factory) and the exporter publishing every 10 ms, 100
    // times its default rate. Issue #14 asks that metrics cost nothing
    // measurable when no backend is bootstrapped; the put path never calls
    // swift-metrics at all (the exporter reads stats() on its own thread),
    // so both rows should show the same mallocs and time per put.
    for withMetrics in [false, true] {
        let putReused = FixtureSlot()
        let label = withMetrics ? ", metrics exported every 10 ms" : ""
        Benchmark("put no sync, 1000 per iteration, reused key and value\(label)",
                  configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 1000)) { (benchmark: Benchmark, f: Fixture) in
            var key = Fixture.key(0)
            var value = [UInt8](repeating: 0x65, count: 100)
            var rng = PickRandom(seed: 3)
            for _ in benchmark.scaledIterations {
                for _ in 0..<1000 {
                    Fixture.setDigits(of: &key, to: rng.below(1 << 30))
                    value[0] &+= 1
                    try f.db.put(key, value)
                }
            }
        } setup: { () throws -> Fixture in
            var options = Options()
            if withMetrics {
                options.metricsFactory = TestMetrics()
                options.metricsIntervalMillis = 10
            }
            return putReused.keep(try Fixture(options: options))
        } teardown: {
            putReused.close()
        }
    }

    // The same 1000 puts through the generic forms (DB+Bytes.swift): a
    // String key (13 bytes: a small string, built without the heap) with
    // the [UInt8] value, and a Data key and value changed in place. Both
    // lend their bytes as the [UInt8] form does, so the mallocs per put
    // should match that row's.
    for form in ["String key, [UInt8] value", "Data key and value"] {
        let slot = FixtureSlot()
        Benchmark("put no sync, 1000 per iteration, \(form)",
                  configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 1000)) {
            (benchmark: Benchmark, f: Fixture) in
            var key = Fixture.key(0)
            var value = [UInt8](repeating: 0x65, count: 100)
            var dataKey = Data(key)
            var dataValue = Data(value)
            var rng = PickRandom(seed: 3)
            for _ in benchmark.scaledIterations {
                for _ in 0..<1000 {
                    Fixture.setDigits(of: &key, to: rng.below(1 << 30))
                    if form.hasPrefix("String") {
                        value[0] &+= 1
                        try f.db.put(String(decoding: key, as: UTF8.self), value)
                    } else {
                        for i in 3..<key.count { dataKey[i] = key[i] }
                        dataValue[0] &+= 1
                        try f.db.put(dataKey, dataValue)
                    }
                }
            }
        } setup: { () throws -> Fixture in
            slot.keep(try Fixture())
        } teardown: {
            slot.close()
        }
    }

    // MARK: - Reads (100k records of 100 B, flushed to a table)

    let getHit = FixtureSlot()
    Benchmark("get hit, block cache warm", configuration: .init(scalingFactor: .kilo)) { benchmark, f in
        var rng = PickRandom(seed: 2)
        for _ in benchmark.scaledIterations {
            blackHole(try f.db.get(f.keys[rng.below(f.keys.count)]))
        }
    } setup: {
        getHit.keep(try Fixture(records: records))
    } teardown: {
        getHit.close()
    }

    // Cold path: 1 MiB block cache and O_DIRECT over ~100 MB of
    // incompressible values, so almost every block is read from the file;
    // multiGet submits its misses as one io_uring batch.
    var cold = Options()
    cold.blockCacheSizeBytes = 1 << 20
    cold.directReads = true
    let coldOptions = cold
    for warm in [true, false] {
        let label = warm ? "block cache warm" : "direct reads, 1 MiB cache"
        let options = warm ? Options() : coldOptions
        let gets = FixtureSlot()
        Benchmark("32 gets, \(label)") { benchmark, f in
            var rng = PickRandom.fresh()
            for _ in benchmark.scaledIterations {
                for _ in 0..<32 { blackHole(try f.db.get(f.keys[rng.below(f.keys.count)])) }
            }
        } setup: {
            gets.keep(try Fixture(options: options, records: records, valueSizeBytes: warm ? 100 : 1000,
                                  incompressible: !warm))
        } teardown: {
            gets.close()
        }

        let multi = FixtureSlot()
        Benchmark("multiGet 32 keys, \(label)") { benchmark, f in
            var rng = PickRandom.fresh()
            for _ in benchmark.scaledIterations {
                let batch = (0..<32).map { _ in f.keys[rng.below(f.keys.count)] }
                blackHole(try f.db.multiGet(batch))
            }
        } setup: {
            multi.keep(try Fixture(options: options, records: records, valueSizeBytes: warm ? 100 : 1000,
                                   incompressible: !warm))
        } teardown: {
            multi.close()
        }
    }

    // MARK: - Allocations per read (issue #12: <= 1 per get, 0 per
    // withValue, 0 per iterator step). One operation per iteration, so the
    // malloc count is per operation.

    for inMemtable in [false, true] {
        let place = inMemtable ? "memtable" : "block cache warm"
        let single = FixtureSlot()
        Benchmark("allocs: get, \(place)", configuration: .init(metrics: [.mallocCountTotal, .wallClock])) {
            benchmark, f in
            var rng = PickRandom(seed: 5)
            for _ in benchmark.scaledIterations { blackHole(try f.db.get(f.keys[rng.below(f.keys.count)])) }
        } setup: {
            single.keep(try Fixture(records: records, flush: !inMemtable))
        } teardown: {
            single.close()
        }

        let lent = FixtureSlot()
        Benchmark("allocs: withValue, \(place)", configuration: .init(metrics: [.mallocCountTotal, .wallClock])) {
            benchmark, f in
            var rng = PickRandom(seed: 6)
            for _ in benchmark.scaledIterations {
                blackHole(try f.db.withValue(forKey: f.keys[rng.below(f.keys.count)]) { $0.count })
            }
        } setup: {
            lent.keep(try Fixture(records: records, flush: !inMemtable))
        } teardown: {
            lent.close()
        }
    }

    // One iteration = one step of an iterator kept across iterations (it
    // starts over at the end, once per 100k steps).
    let stepper = FixtureSlot()
    let cursor = IteratorBox()
    Benchmark("allocs: iterator step, block cache warm", configuration: .init(metrics: [.mallocCountTotal, .wallClock])) {
        benchmark, _ in
        for _ in benchmark.scaledIterations {
            guard let it = cursor.iterator else { return }
            if !it.isValid { try it.seekToFirst() }
            blackHole(it.withKey { $0.count } &+ it.withValue { $0.count })
            try it.next()
        }
    } setup: {
        let f = stepper.keep(try Fixture(records: records))
        let it = try f.db.makeIterator()
        try it.seekToFirst()
        cursor.iterator = it
        return f
    } teardown: {
        cursor.iterator = nil
        stepper.close()
    }

    // The same, backward: a prev step copies the value into the iterator's
    // reused buffer (it must move past the key's entries), still with no
    // allocation.
    let backStepper = FixtureSlot()
    let backCursor = IteratorBox()
    Benchmark("allocs: iterator prev step, block cache warm",
              configuration: .init(metrics: [.mallocCountTotal, .wallClock])) { benchmark, _ in
        for _ in benchmark.scaledIterations {
            guard let it = backCursor.iterator else { return }
            if !it.isValid { try it.seekToLast() }
            blackHole(it.withKey { $0.count } &+ it.withValue { $0.count })
            try it.prev()
        }
    } setup: {
        let f = backStepper.keep(try Fixture(records: records))
        let it = try f.db.makeIterator()
        try it.seekToLast()
        backCursor.iterator = it
        return f
    } teardown: {
        backCursor.iterator = nil
        backStepper.close()
    }

    let backScan = FixtureSlot()
    Benchmark("iterator seek(forPrev:) + 100 prev") { benchmark, f in
        var rng = PickRandom(seed: 4)
        for _ in benchmark.scaledIterations {
            let it = try f.db.makeIterator()
            try it.seek(forPrev: f.keys[100 + rng.below(f.keys.count - 100)])
            var n = 0
            while it.isValid && n < 100 {
                blackHole(it.value.count)
                try it.prev()
                n += 1
            }
        }
    } setup: {
        backScan.keep(try Fixture(records: records))
    } teardown: {
        backScan.close()
    }

    let scan = FixtureSlot()
    Benchmark("iterator seek + 100 next") { benchmark, f in
        var rng = PickRandom(seed: 4)
        for _ in benchmark.scaledIterations {
            let it = try f.db.makeIterator()
            try it.seek(to: f.keys[rng.below(f.keys.count - 100)])
            var n = 0
            while it.isValid && n < 100 {
                blackHole(it.value.count)
                try it.next()
                n += 1
            }
        }
    } setup: {
        scan.keep(try Fixture(records: records))
    } teardown: {
        scan.close()
    }

    // MARK: - Long cold scan: asynchronous prefetch vs synchronous read-ahead

    // 100k x 1000 B incompressible records (~100 MB of tables), O_DIRECT,
    // 1 MiB block cache, fillCache false: every block of every iteration
    // comes from the disk. One iteration = one full scan. The two cases
    // differ only in ReadOptions.asyncPrefetch.
    for prefetch in [true, false] {
        let label = prefetch ? "async prefetch" : "synchronous read-ahead"
        let full = FixtureSlot()
        Benchmark("full scan 100k x 1000 B, direct reads, \(label)",
                  configuration: .init(metrics: [.wallClock, .throughput], maxIterations: 20)) { benchmark, f in
            for _ in benchmark.scaledIterations {
                let it = try f.db.makeIterator(options: ReadOptions(fillCache: false, asyncPrefetch: prefetch))
                try it.seekToFirst()
                var n = 0
                while it.isValid {
                    blackHole(it.value.count)
                    try it.next()
                    n += 1
                }
                precondition(n == records, "the scan saw \(n) of \(records) records")
            }
        } setup: {
            full.keep(try Fixture(options: coldOptions, records: records, valueSizeBytes: 1000, incompressible: true))
        } teardown: {
            full.close()
        }
    }

    // The same cold full scan backward (seekToLast + prev): backward steps
    // read each block alone (no read-ahead window behind the cursor).
    let fullBack = FixtureSlot()
    Benchmark("full scan 100k x 1000 B, direct reads, reverse",
              configuration: .init(metrics: [.wallClock, .throughput], maxIterations: 20)) { benchmark, f in
        for _ in benchmark.scaledIterations {
            let it = try f.db.makeIterator(options: ReadOptions(fillCache: false))
            try it.seekToLast()
            var n = 0
            while it.isValid {
                blackHole(it.value.count)
                try it.prev()
                n += 1
            }
            precondition(n == records, "the reverse scan saw \(n) of \(records) records")
        }
    } setup: {
        fullBack.keep(try Fixture(options: coldOptions, records: records, valueSizeBytes: 1000, incompressible: true))
    } teardown: {
        fullBack.close()
    }

    // MARK: - Checksums and compression (4 KiB blocks)

    let block: [UInt8] = (0..<4096).map { i in UInt8(truncatingIfNeeded: (i * 7) ^ (i >> 5)) }
    Benchmark("crc32c 4 KiB", configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo)) {
        benchmark in
        block.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(rk_crc32c_extend(0, raw.baseAddress, raw.count))
            }
        }
    }

    // A block of sorted keys and short values: compresses like table data.
    var text: [UInt8] = []
    var i = 0
    while text.count < 4096 {
        text += Fixture.key(i) + Array("value-\(i % 97)".utf8)
        i += 1
    }
    let table = Array(text.prefix(4096))
    let bound = Int(LZ4_compressBound(Int32(table.count)))
    var compressedScratch = [CChar](repeating: 0, count: bound)
    let compressedCount = table.withUnsafeBytes { src in
        compressedScratch.withUnsafeMutableBufferPointer { dst in
            LZ4_compress_default(src.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress,
                                 Int32(src.count), Int32(dst.count))
        }
    }
    let compressed = Array(compressedScratch.prefix(Int(compressedCount)))

    Benchmark("lz4 compress 4 KiB", configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo)) {
        benchmark in
        var out = [CChar](repeating: 0, count: bound)
        table.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { dst in
                for _ in benchmark.scaledIterations {
                    blackHole(LZ4_compress_default(src.baseAddress?.assumingMemoryBound(to: CChar.self),
                                                   dst.baseAddress, Int32(src.count), Int32(dst.count)))
                }
            }
        }
    }

    Benchmark("lz4 decompress 4 KiB", configuration: .init(metrics: [.wallClock, .throughput],
                                                          scalingFactor: .kilo)) { benchmark in
        var out = [CChar](repeating: 0, count: table.count)
        compressed.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for _ in benchmark.scaledIterations {
                    blackHole(LZ4_decompress_safe(src.baseAddress, dst.baseAddress, Int32(src.count),
                                                  Int32(dst.count)))
                }
            }
        }
    }
}
