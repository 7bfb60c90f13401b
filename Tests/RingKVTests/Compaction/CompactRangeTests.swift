import Testing
@testable import RingKV

/// `DB.compactRange`: everything ends in one level, one entry per live key,
/// no tombstones — unless a snapshot still needs older versions.
@Suite struct CompactRangeTests {
    typealias F = CompactionFixtures

    /// Writes `rounds` versions of keys 0..<count, deleting every fifth key
    /// in the last round. Returns the expected contents.
    private func overwrite(_ db: DB, count: Int, rounds: Int) throws -> [[UInt8]: [UInt8]] {
        var model: [[UInt8]: [UInt8]] = [:]
        for round in 0..<rounds {
            for i in 0..<count {
                let value = bytes("round \(round) value \(i) ") + [UInt8](repeating: UInt8(i & 0xff), count: 40)
                try db.put(compactionKey(i), value)
                model[compactionKey(i)] = value
            }
        }
        for i in stride(from: 0, to: count, by: 5) {
            try db.delete(compactionKey(i))
            model[compactionKey(i)] = nil
        }
        return model
    }

    @Test func manyOverwritesCompactToOneEntryPerLiveKeyInOneLevel() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: F.smallOptions())
        let model = try overwrite(db, count: 3000, rounds: 5)
        try db.compactRange()
        let levels = F.nonEmptyLevels(db)
        #expect(levels.count == 1 && levels[0] >= 1, "levels \(levels)")
        let counts = try F.tableEntryCounts(db)
        #expect(counts.entries == UInt64(model.count))
        #expect(counts.deletions == 0)
        #expect(F.levelsDoNotOverlap(db.impl.versions.current))
        let rows = try db.scan()
        #expect(rows.count == model.count && rows.allSatisfy { model[$0.key] == $0.value })
        // Old tables are gone from disk.
        #expect(F.waitForBackgroundWork(db))
        #expect(try F.tableFilesOnDisk(dir.sub("db")) == db.impl.versions.current.fileNumbers)
        let stats = db.stats()
        #expect(stats.compactions >= 1 && stats.compactionBytesWritten > 0 && stats.compactionBytesRead > 0)
        #expect(stats.writeAmplification > 1)
        try db.close()
    }

    @Test func compactRangeKeepsWhatASnapshotStillReads() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: F.smallOptions())
        let before = try overwrite(db, count: 1000, rounds: 2)
        var snapshot: Snapshot? = db.snapshot()
        let after = try overwrite(db, count: 1000, rounds: 1)  // same keys, new values, same deletions
        try db.delete(compactionKey(1))
        try db.compactRange()
        #expect(F.nonEmptyLevels(db).count == 1)
        for i in 0..<1000 {
            let key = compactionKey(i)
            #expect(try db.get(key, options: ReadOptions(snapshot: snapshot)) == before[key], "key \(i) at the snapshot")
            #expect(try db.get(key) == (i == 1 ? nil : after[key]), "key \(i) now")
        }
        // What the snapshot still needs, per key:
        // - 800 keys live at the snapshot: the new value and the value the
        //   snapshot sees (key 1 also has its new tombstone on top);
        // - 200 keys deleted before the snapshot: the new tombstone and the
        //   value under it; the old tombstone is not needed (nothing older
        //   is left under it, and the snapshot sees the key absent either way).
        let held = try F.tableEntryCounts(db)
        #expect(held.entries == UInt64(800 * 2 + 1 + 200 * 2))
        #expect(held.deletions == 201)
        // Once the snapshot is gone, another compactRange drops all of it.
        snapshot = nil
        try db.compactRange()
        let counts = try F.tableEntryCounts(db)
        #expect(counts.entries == UInt64(after.count - 1) && counts.deletions == 0)
        try db.close()
    }

    @Test func compactRangeOnAnEmptyOrMemtableOnlyDatabase() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: F.smallOptions())
        try db.compactRange()
        #expect(F.nonEmptyLevels(db).isEmpty)
        try db.put("a", "1")
        try db.compactRange()
        #expect(F.nonEmptyLevels(db) == [1])
        #expect(try db.get("a") == "1")
        // Deleting the only key and compacting leaves no table at all.
        try db.delete("a")
        try db.compactRange()
        #expect(F.nonEmptyLevels(db).isEmpty)
        #expect(try db.get("a") == nil)
        try db.close()
    }

    @Test func compactedDatabaseReopensWithTheSameContents() throws {
        let dir = try TempDir()
        let options = F.smallOptions()
        var model: [[UInt8]: [UInt8]] = [:]
        do {
            let db = try DB(path: dir.sub("db"), options: options)
            model = try overwrite(db, count: 2000, rounds: 3)
            try db.compactRange()
            try db.close()
        }
        let db = try DB(path: dir.sub("db"), options: options)
        let rows = try db.scan()
        #expect(rows.count == model.count && rows.allSatisfy { model[$0.key] == $0.value })
        #expect(F.nonEmptyLevels(db).count == 1)
        try db.close()
    }
}
