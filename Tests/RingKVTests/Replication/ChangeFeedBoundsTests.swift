import Testing
@testable import RingKV

/// A change feed asked for everything after the largest sequence there
/// is: nothing comes, on a writable and on a read-only database (whose
/// feed reads the WAL files it finds), never a trap.
@Suite struct ChangeFeedBoundsTests {
    @Test func changesSinceTheLargestSequenceYieldNothingOnAReadOnlyDatabase() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: ReplicationFixtures.primaryOptions())
        for i in 0..<10 { try db.put(bytes("k\(i)"), bytes("v\(i)")) }
        try db.flush()  // the log goes obsolete, kept for feeds
        try db.put(bytes("after"), bytes("flush"))
        #expect(try db.changesBacklog(since: UInt64.max, maxBatches: 10).isEmpty)
        try db.close()
        var options = ReplicationFixtures.primaryOptions()
        options.readOnly = true
        let readOnly = try DB(path: path, options: options)
        defer { try? readOnly.close() }
        #expect(try readOnly.changesBacklog(since: 0, maxBatches: 100).count >= 10)
        #expect(try readOnly.changesBacklog(since: UInt64.max, maxBatches: 10).isEmpty)
        #expect(try readOnly.changesBacklog(since: UInt64.max - 1, maxBatches: 10).isEmpty)
    }
}
