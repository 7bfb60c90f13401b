import Testing
@testable import RingKV

/// Compaction with many small outputs and range tombstones a snapshot
/// keeps: tombstones travel whole, outputs never overlap, reads stay right.
@Suite struct RangeTombstoneCompactionTests {
    typealias F = CompactionFixtures

    @Test func keptTombstonesTravelWholeAndOutputsNeverOverlap() throws {
        let dir = try TempDir()
        // 16 KiB outputs: the ~600 KiB of data spreads over dozens of tables.
        let db = try DB(path: dir.sub("db"), options: F.smallOptions(targetFileBytes: 16 << 10))
        // Incompressible values, so LZ4 leaves the tables their size.
        var rng = SeededRandom(seed: 7)
        var model: [[UInt8]: [UInt8]] = [:]
        for i in 0..<3000 {
            let value = (0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try db.put(compactionKey(i), value)
            model[compactionKey(i)] = value
        }
        try db.compactRange()
        let snapshot = db.snapshot()
        let atSnapshot = model
        let ranges = [(100, 900), (500, 1500), (2000, 2010), (2990, 4000)]
        for (from, to) in ranges {
            try db.deleteRange(from: compactionKey(from), to: compactionKey(to))
            for i in from..<min(to, 3000) { model[compactionKey(i)] = nil }
        }
        try db.compactRange()
        let version = db.impl.versions.current
        #expect(F.levelsDoNotOverlap(version), "\(version.debugDescription)")
        let tombstones = try db.impl.tableRangeTombstones(version)
        #expect(tombstones.count == ranges.count, "the snapshot keeps every tombstone, each in one table")
        #expect(version.totalFileCount > 10, "\(version.debugDescription)")
        #expect(try db.scan().map(\.key) == model.keys.sorted { compareBytes($0, $1) < 0 })
        #expect(try db.scan(options: ReadOptions(snapshot: snapshot)).count == atSnapshot.count)
        for i in stride(from: 0, to: 3000, by: 37) {
            #expect(try db.get(compactionKey(i)) == model[compactionKey(i)], "key \(i)")
            #expect(try db.get(compactionKey(i), options: ReadOptions(snapshot: snapshot)) == atSnapshot[compactionKey(i)],
                    "key \(i) at the snapshot")
        }
        try db.close()
    }
}
