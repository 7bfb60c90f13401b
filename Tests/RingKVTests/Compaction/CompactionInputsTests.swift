import Testing
@testable import RingKV

/// The merge's sources: one iterator per L0 table, one level iterator per
/// sorted level (which opens one table at a time, so a compaction holds
/// read buffers for two tables of the sorted levels, not all of them).
@Suite struct CompactionInputsTests {
    typealias F = CompactionFixtures

    /// Every (internal key, value) a source yields, from the first.
    private func drain(_ source: any InternalIterator) throws -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        try source.seekToFirst()
        while source.isValid {
            out.append((Array(source.key), Array(source.value)))
            try source.next()
        }
        return out
    }

    @Test func sortedLevelsAreOneSourceEachAndYieldEveryEntryOfTheirTables() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: F.smallOptions(memtableBytes: 16 << 10, targetFileBytes: 8 << 10,
                                                                     l1Bytes: 32 << 10, multiplier: 2))
        defer { try? db.close() }
        var rng = SeededRandom(seed: 7)
        for round in 0..<2 {
            for i in (0..<3000).shuffled(using: &rng) {
                try db.put(compactionKey(i), bytes("r\(round)-\(i)-") + [UInt8](repeating: 7, count: 60))
            }
            #expect(F.waitForBackgroundWork(db))
        }
        try db.put(compactionKey(5), bytes("newest"))
        try db.flush()
        let version = db.impl.versions.current
        // A level with several tables above one with several tables.
        let levels = (1..<Version.numLevels - 1).filter {
            version.files[$0].count >= 2 && version.files[$0 + 1].count >= 2
        }
        let level = try #require(levels.first, "no two adjacent sorted levels with several tables: \(version.files.map(\.count))")
        let inputs = Array(version.files[level].prefix(2)).reversed()  // out of key order on purpose
        let below = version.files[level + 1]
        let sorted = Compaction(level: level, outputLevel: level + 1, inputs: Array(inputs),
                                outputLevelInputs: below, version: version, reason: .manual, score: 1)
        let sources = try CompactionJob(db: db.impl, keyspace: 0, tableOptions: db.impl.options, compaction: sorted, smallestSnapshot: 0).inputIterators()
        #expect(sources.count == 2)
        #expect(sources.allSatisfy { $0 is LevelIterator })
        // Each yields its tables' entries in order, all of them.
        for (source, files) in zip(sources, [Array(inputs), below]) {
            let entries = try drain(source)
            var expected: UInt64 = 0
            for f in files { expected += try db.impl.tableCache.reader(for: f.number).properties.entryCount }
            #expect(UInt64(entries.count) == expected)
            for i in entries.indices.dropFirst() {
                #expect(entries[i - 1].0.withUnsafeBytes { a in entries[i].0.withUnsafeBytes { InternalKey.compare(a, $0) < 0 } })
            }
        }
        // L0 tables overlap: one source each, plus the level below.
        let l0 = version.files[0]
        try #require(!l0.isEmpty)
        let fromL0 = Compaction(level: 0, outputLevel: 1, inputs: l0, outputLevelInputs: version.files[1],
                                version: version, reason: .manual, score: 1)
        let l0Sources = try CompactionJob(db: db.impl, keyspace: 0, tableOptions: db.impl.options, compaction: fromL0, smallestSnapshot: 0).inputIterators()
        #expect(l0Sources.count == l0.count + (version.files[1].isEmpty ? 0 : 1))
        #expect(l0Sources.prefix(l0.count).allSatisfy { $0 is TableIterator })
    }
}
