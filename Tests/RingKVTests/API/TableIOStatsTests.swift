import Testing
@testable import RingKV

/// The I/O figures of `DB.stats()` behind kvbench's read and write
/// amplification: table bytes written per level, blocks read by table
/// opens, and the index and filter memory open tables pin.
@Suite struct TableIOStatsTests {
    @Test func tableBytesArePerLevelFlushesIntoL0CompactionsIntoTheirOutput() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: CompactionFixtures.smallOptions(memtableBytes: 1 << 20))
        for round in 0..<2 {
            for i in 0..<500 { try db.put(compactionKey(i), bytes("r\(round)-\(i)") + [UInt8](repeating: 1, count: 200)) }
            try db.flush()
        }
        var stats = db.stats()
        #expect(stats.levelBytesWritten.count == Version.numLevels)
        #expect(stats.levelBytesWritten[0] == stats.flushBytesWritten && stats.flushBytesWritten > 0)
        #expect(stats.levelBytesWritten.dropFirst().allSatisfy { $0 == 0 })
        try db.compactRange()
        stats = db.stats()
        let bottom = try #require(db.impl.manualBottomLevel(db.impl.versions.current))
        #expect(stats.levelBytesWritten[bottom] > 0)
        #expect(stats.levelBytesWritten.dropFirst().reduce(0, +) == stats.compactionBytesWritten)
        try db.close()
    }

    @Test func openTablesReportTheirPinnedMemoryAndTheBlocksTheirOpenRead() throws {
        let dir = try TempDir()
        var db = try DB(path: dir.sub("db"), options: openOptions())
        for i in 0..<2000 { try db.put(compactionKey(i), [UInt8](repeating: 3, count: 100)) }
        try db.flush()
        try db.close()
        db = try DB(path: dir.sub("db"), options: openOptions())
        #expect(db.stats().pinnedTableMemoryBytes == 0 && db.stats().tableOpenBlocksRead == 0)
        #expect(try db.get(compactionKey(7)) != nil)
        let stats = db.stats()
        let reader = try db.impl.tableCache.reader(for: try #require(db.impl.versions.current.files[0].first).number)
        // Footer, then index, properties and filter (a format-1 table).
        #expect(stats.tableOpenBlocksRead == 4)
        #expect(stats.pinnedTableMemoryBytes == reader.pinnedMemoryBytes)
        #expect(reader.pinnedMemoryBytes >= reader.indexBlock.count + (reader.filter?.memoryBytes ?? 0))
        db.impl.tableCache.evict(reader.fileNumber)
        #expect(db.stats().pinnedTableMemoryBytes == 0)
        try db.close()
    }
}
