import Testing
@testable import RingKV

/// A dropped keyspace keeps its name, and its ttl's mark, for the change
/// feed across reopens while a WAL file may still hold its changes, and is
/// forgotten once none can (docs/FORMAT.md §Snapshot edit).
@Suite struct ChangeFeedDroppedKeyspaceTests {
    /// The drop's session and two reopens later, with the WAL files
    /// retained for the feed: every batch still decodes with its name.
    @Test func theFeedNamesADroppedKeyspaceAfterTwoReopens() async throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let first = try await DB(path: path, options: ReplicationFixtures.primaryOptions())
        let gone = try await first.keyspace("gone", options: KeyspaceOptions(ttl: .seconds(3600)))
        try await gone.put("k", "v")
        try await first.put("d", "1")
        try await first.dropKeyspace("gone")
        try await first.close()
        for _ in 0..<2 {
            let db = try await DB(path: path, options: ReplicationFixtures.primaryOptions())
            let batches = try await ChangeFeedTests.collect(db.changes(since: 0), count: 2)
            #expect(batches.map { $0.changes.map(\.keyspace) } == [["gone"], ["default"]])
            #expect(batches.map(\.stampedKeyspaces) == [["gone"], []])
            try await db.close()
        }
    }

    /// Without retention the WAL files that held its changes go at the
    /// first reopen; the next snapshot no longer carries the keyspace.
    @Test func aDroppedKeyspaceIsForgottenOnceNoWALFileCanHoldIt() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = ReplicationFixtures.primaryOptions()
        options.changeRetentionBytes = 0
        var db = try DB(path: path, options: options)
        try db.keyspace("gone").put("k", "v")
        try db.dropKeyspace("gone")
        #expect(db.impl.versions.droppedKeyspaceRecords.values.map(\.name) == ["gone"])
        try db.close()
        var carried: [[String]] = []
        for _ in 0..<3 {
            db = try DB(path: path, options: options)
            carried.append(db.impl.versions.droppedKeyspaceRecords.values.map(\.name))
            try db.close()
        }
        // Kept at the first reopen (the drop's WAL was on disk then), gone
        // from the second on.
        #expect(carried == [["gone"], [], []])
        // A keyspace of the same name can be created again.
        db = try DB(path: path, options: options)
        try db.keyspace("gone").put("k2", "v2")
        #expect(try db.existingKeyspace("gone").get("k") == nil)
        try db.close()
    }

    /// A keyspace created again under a dropped one's name: both reopen
    /// (the snapshot writes the dropped one before the live one), and the
    /// feed names the batches of both.
    @Test func aNameTakenAgainAfterItsDropReopens() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var db = try DB(path: path, options: ReplicationFixtures.primaryOptions())
        try db.keyspace("a").put("k", "old")
        try db.dropKeyspace("a")
        try db.keyspace("a").put("k", "new")
        try db.close()
        for _ in 0..<2 {
            db = try DB(path: path, options: ReplicationFixtures.primaryOptions())
            #expect(try db.existingKeyspace("a").get("k") == "new")
            let batches = try db.changesBacklog(since: 0, maxBatches: 10)
            #expect(batches.map { $0.changes.map(\.keyspace) } == [["a"], ["a"]])
            try db.close()
        }
    }
}
