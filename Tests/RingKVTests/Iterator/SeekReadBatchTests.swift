import Testing
@testable import RingKV

/// An iterator seek over several tables reads every table's block in one
/// batch before the tables position themselves (`SeekReadBatch`).
@Suite struct SeekReadBatchTests {
    @Test func aSeekReadsTheBlocksOfAllItsTablesInOneBatch() throws {
        let dir = try TempDir()
        var options = CompactionFixtures.smallOptions(memtableBytes: 1 << 20)
        options.l0CompactionTrigger = 100
        options.l0SlowdownTrigger = 200
        options.l0StopTrigger = 300
        var db = try DB(path: dir.sub("db"), options: options)
        for t in 0..<4 {
            for i in stride(from: t, to: 2000, by: 4) { try db.put(compactionKey(i), [UInt8](repeating: UInt8(t), count: 100)) }
            try db.flush()
        }
        try db.close()
        db = try DB(path: dir.sub("db"), options: options)  // an empty block cache
        #expect(db.stats().levels[0].files == 4)
        let it = try db.makeIterator()
        try it.seek(to: compactionKey(1001))
        #expect(it.key == compactionKey(1001))
        var stats = db.stats()
        #expect(stats.iteratorSeekBatches == 1)
        #expect(stats.iteratorBlocksRead == 4, "each table's block read once: \(stats.iteratorBlocksRead)")
        var seen: [Int] = []
        for _ in 0..<8 {
            seen.append(Int(String(decoding: it.key.dropFirst(3), as: UTF8.self)) ?? -1)
            try it.next()
        }
        #expect(seen == Array(1001..<1009))
        // A second seek into the same blocks reads nothing.
        try it.seek(to: compactionKey(1003))
        stats = db.stats()
        #expect(stats.iteratorSeekBatches == 1 && stats.iteratorBlocksRead == 4)
        try db.close()
    }
}
