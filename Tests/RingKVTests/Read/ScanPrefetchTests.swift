import Glibc
import RingIO
import Testing
@testable import RingKV

/// DB scans over many tables return the same rows with asynchronous
/// prefetch as with synchronous read-ahead, whatever the I/O settings.
@Suite struct ScanPrefetchTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func scansOverManyTablesMatchWithAndWithoutPrefetch(directReads: Bool, forcePosixIO: Bool) throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir("ringkv-scan-prefetch")
        var options = openOptions()
        options.directReads = directReads
        options.forcePosixIO = forcePosixIO
        // Keep every flushed table in L0: the scan merges all of them.
        options.l0CompactionTrigger = 100
        options.l0SlowdownTrigger = 200
        options.l0StopTrigger = 300
        options.blockCacheSizeBytes = 256 << 10
        var model: [[UInt8]: [UInt8]] = [:]
        do {
            let db = try DB(path: dir.path, options: options)
            for table in 0..<8 {
                for _ in 0..<2_500 {
                    let key = bytes("key\(100_000 + Int(rng.next() % 12_000))")
                    if rng.next() % 10 == 0 {
                        try db.delete(key)
                        model[key] = nil
                    } else {
                        // Incompressible, so each table spans ~100 blocks.
                        let value = bytes("t\(table)-") + (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                        try db.put(key, value)
                        model[key] = value
                    }
                }
                try db.flush()
            }
            let l0 = db.stats().levels[0]
            #expect(l0.files == 8)
            #expect(l0.bytes > 8 * 300_000)
            try db.close()
        }
        // Reopen: cold block cache.
        let db = try DB(path: dir.path, options: options)
        let want = model.sorted { compareBytes($0.key, $1.key) < 0 }.map { (key: $0.key, value: $0.value) }
        for asyncPrefetch in [true, false] {
            let rows = try db.scan(options: ReadOptions(fillCache: false, asyncPrefetch: asyncPrefetch))
            #expect(rows.count == want.count, "seed \(seed) async \(asyncPrefetch)")
            #expect(zip(rows, want).allSatisfy { $0.key == $1.key && $0.value == $1.value },
                    "seed \(seed) async \(asyncPrefetch)")
        }
        // Ranged scans starting mid-table, with the cache filling.
        for _ in 0..<20 {
            let from = bytes("key\(100_000 + Int(rng.next() % 12_000))")
            let a = try db.scan(from: from, limit: 3_000)
            let b = try db.scan(from: from, limit: 3_000, options: ReadOptions(asyncPrefetch: false))
            let expected = want.filter { compareBytes($0.key, from) >= 0 }.prefix(3_000)
            #expect(a.count == expected.count && b.count == expected.count, "seed \(seed)")
            #expect(zip(a, expected).allSatisfy { $0.key == $1.key && $0.value == $1.value }, "seed \(seed)")
            #expect(zip(b, expected).allSatisfy { $0.key == $1.key && $0.value == $1.value }, "seed \(seed)")
        }
        try db.close()
    }
}
