import Glibc
import RingIO
import Synchronization
import Testing
@testable import RingKV

/// The change feed (`DB.changes(since:)`, docs/REPLICATION.md): what it
/// yields, live waking, log switches and flushes, retention, the synced
/// mode, and batches carrying merge operands (WAL types 3/7).
@Suite struct ChangeFeedTests {
    /// Collects `count` batches from `feed` (the test fails if it ends early).
    static func collect(_ feed: ChangeFeed, count: Int) async throws -> [CommittedBatch] {
        var out: [CommittedBatch] = []
        if count == 0 { return out }
        for try await batch in feed {
            out.append(batch)
            if out.count == count { break }
        }
        return out
    }

    @Test func backlogYieldsEveryWriteInOrderWithItsKeyspaceAndSequence() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: ReplicationFixtures.primaryOptions())
        defer { try? db.close() }
        let users = try await db.keyspace("users")
        #expect(db.latestSequence == 0)
        try await db.put(bytes("a"), bytes("1"))
        try await users.put(bytes("u"), bytes("2"))
        try await users.delete(bytes("u"))
        try await db.deleteRange(from: bytes("a"), to: bytes("c"))
        var batch = WriteBatch()
        batch.put(bytes("x"), bytes("3"))
        batch.delete(bytes("y"), in: users)
        batch.deleteRange(from: bytes("m"), to: bytes("n"), in: users)
        try await db.write(batch)
        #expect(db.latestSequence == 7)
        let got = try await Self.collect(db.changes(since: 0), count: 5)
        let expected: [CommittedBatch] = [
            CommittedBatch(sequence: 1, changes: [.put(keyspace: "default", key: bytes("a"), value: bytes("1"))]),
            CommittedBatch(sequence: 2, changes: [.put(keyspace: "users", key: bytes("u"), value: bytes("2"))]),
            CommittedBatch(sequence: 3, changes: [.delete(keyspace: "users", key: bytes("u"))]),
            CommittedBatch(sequence: 4, changes: [.deleteRange(keyspace: "default", from: bytes("a"), to: bytes("c"))]),
            CommittedBatch(sequence: 5, changes: [.put(keyspace: "default", key: bytes("x"), value: bytes("3")),
                                                  .delete(keyspace: "users", key: bytes("y")),
                                                  .deleteRange(keyspace: "users", from: bytes("m"), to: bytes("n"))]),
        ]
        #expect(got == expected)
        // `since` in the middle: only batches whose first sequence is above it.
        let tail = try await Self.collect(db.changes(since: 3), count: 2)
        #expect(tail.map(\.sequence) == [4, 5])
    }

    @Test func liveFeedWakesOnEachCommitAcrossLogSwitchesFlushesAndReopen() async throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var db: DB? = try await DB(path: path, options: ReplicationFixtures.primaryOptions(memtableBytes: 32 << 10))
        let writes = 3000
        let start = db!.latestSequence
        let feed = db!.changes(since: start)
        let reader = Task { try await Self.collect(feed, count: writes) }
        // The feed has caught up and waits; the writes come afterwards,
        // with memtable switches (32 KiB memtables) and explicit flushes.
        try await Task.sleep(nanoseconds: 20_000_000)
        for i in 0..<writes {
            try await db!.put(bytes("key\(i)"), [UInt8](repeating: UInt8(i & 0xff), count: 100))
            if i % 1000 == 999 { try await db!.flush() }
        }
        let got = try await reader.value
        #expect(got.count == writes)
        #expect(got.map(\.sequence) == Array((start + 1)...(start + UInt64(writes))))
        #expect(got.last?.changes == [.put(keyspace: "default", key: bytes("key\(writes - 1)"),
                                          value: [UInt8](repeating: UInt8((writes - 1) & 0xff), count: 100))])
        // Reopened: the old logs are kept for feeds (retention), so the
        // whole history is still there.
        try await db!.close()
        db = try await DB(path: path, options: ReplicationFixtures.primaryOptions(memtableBytes: 32 << 10))
        try await db!.put(bytes("after"), bytes("reopen"))
        let all = try await Self.collect(db!.changes(since: 0), count: writes + 1)
        #expect(all.map(\.sequence) == Array(1...UInt64(writes + 1)))
        try await db!.close()
    }

    @Test func feedEndsWithClosedWhenTheDatabaseCloses() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: ReplicationFixtures.primaryOptions())
        let feed = db.changes(since: 0)
        let reader = Task { () -> DBError? in
            do {
                for try await _ in feed {}
                return nil
            } catch let error as DBError { return error }
        }
        try await Task.sleep(nanoseconds: 20_000_000)
        try await db.close()
        #expect(try await reader.value == .closed)
    }

    @Test func withoutRetentionAnOldSinceThrowsChangesUnavailable() async throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let options = ReplicationFixtures.primaryOptions(memtableBytes: 32 << 10, retentionBytes: 0)
        var db = try await DB(path: path, options: options)
        for i in 0..<2000 { try await db.put(bytes("key\(i)"), [UInt8](repeating: 7, count: 100)) }
        try await db.flush()
        try await db.close()
        db = try await DB(path: path, options: options)  // the reopen sweeps obsolete logs
        defer { try? db.close() }
        var thrown: DBError?
        do {
            for try await _ in db.changes(since: 0) { break }
        } catch let error as DBError { thrown = error }
        guard case .changesUnavailable(let oldest)? = thrown else {
            Issue.record("expected changesUnavailable, got \(String(describing: thrown))")
            return
        }
        #expect(oldest > 0 && oldest <= 2000)
        // From `oldest` on it is served.
        try await db.put(bytes("new"), bytes("v"))
        let got = try await Self.collect(db.changes(since: oldest), count: 1)
        #expect(got.first?.sequence == oldest + 1)
    }

    @Test func syncedFeedYieldsUnsyncedWritesOnlyOnceALaterSyncCoversThem() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: ReplicationFixtures.primaryOptions())
        defer { try? db.close() }
        try await db.put(bytes("a"), bytes("1"))  // not synced
        let seen = Mutex<[UInt64]>([])
        let feed = db.changes(since: 0, durability: .synced)
        let reader = Task {
            for try await batch in feed {
                seen.withLock { $0.append(batch.sequence) }
                if batch.sequence == 2 { return }
            }
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(seen.withLock { $0 } == [], "an unsynced write was yielded by a .synced feed")
        // The committed feed has it at once.
        #expect(try await Self.collect(db.changes(since: 0), count: 1).first?.sequence == 1)
        try await db.put(bytes("b"), bytes("2"), options: WriteOptions(sync: true))
        try await reader.value
        #expect(seen.withLock { $0 } == [1, 2])
    }

    /// A batch of merge operands (op types 3 and 7, docs/FORMAT.md; written
    /// by the merge branch) decodes to `.merge` changes.
    @Test func mergeOperandsInTheWALDecodeAsMergeChanges() throws {
        var rep: [UInt8] = []
        withUnsafeBytes(of: UInt64(41).littleEndian) { rep += $0 }
        withUnsafeBytes(of: UInt32(2).littleEndian) { rep += $0 }
        rep += [3, 1, UInt8(ascii: "k"), 2, 5, 0]                       // merge "k" += [5, 0] (default)
        rep += [7, 1, 1, UInt8(ascii: "q"), 1, 9]                       // merge in keyspace 1
        let batch = try rep.withUnsafeBytes { raw in
            try ChangeDecoding.decode(raw, path: "test", recordOffset: 0) {
                $0 == 0 ? FeedKeyspace(name: "default", stamped: false)
                    : $0 == 1 ? FeedKeyspace(name: "users", stamped: false) : nil
            }
        }
        #expect(batch == CommittedBatch(sequence: 41, changes: [
            .merge(keyspace: "default", key: bytes("k"), operand: [5, 0]),
            .merge(keyspace: "users", key: bytes("q"), operand: [9]),
        ]))
        // Damage is a corruption error, not a trap or a short batch.
        var cut = rep
        cut.removeLast()
        #expect(throws: DBError.self) {
            try cut.withUnsafeBytes { raw in
                try ChangeDecoding.decode(raw, path: "test", recordOffset: 0) { _ in FeedKeyspace(name: "default", stamped: false) }
            }
        }
    }
}
