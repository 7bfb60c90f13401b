import Testing
@testable import RingKV

/// A replica that applied changes into named keyspaces is released like
/// any database: its last reference going away frees it and (without
/// `close()`) closes it, so its directory opens again. The apply state
/// once cached `Keyspace` handles, each holding the `DB` that held the
/// cache: the database was never freed, and one dropped without
/// `close()` kept its LOCK and threads for the life of the process.
@Suite struct ReplicaReleaseTests {
    static func commit(_ sequence: UInt64) -> CommittedBatch {
        CommittedBatch(sequence: sequence, changes: [
            .put(keyspace: "users", key: bytes("u\(sequence)"), value: bytes("v")),
            .put(keyspace: "default", key: bytes("d\(sequence)"), value: bytes("w")),
        ])
    }

    /// Opens a replica with a "users" keyspace, applies two commits, and
    /// returns a weak reference to it (the strong one ends here).
    static func applyAndDrop(at path: String, close: Bool) throws -> WeakDB {
        let replica = try DB(path: path, options: ReplicationFixtures.replicaOptions())
        _ = try replica.keyspace("users")
        try replica.apply([commit(1), commit(3)])
        let weak = WeakDB(replica)
        if close { try replica.close() }
        return weak
    }

    final class WeakDB {
        weak var db: DB?
        init(_ db: DB) { self.db = db }
    }

    @Test func aClosedReplicaIsFreed() throws {
        let dir = try TempDir()
        let weak = try Self.applyAndDrop(at: dir.sub("replica"), close: true)
        #expect(weak.db == nil, "the closed replica is still referenced after its last handle went away")
    }

    @Test func aReplicaDroppedWithoutCloseIsClosedAndItsDirectoryOpensAgain() throws {
        let dir = try TempDir()
        let weak = try Self.applyAndDrop(at: dir.sub("replica"), close: false)
        #expect(weak.db == nil)
        // Dropped on this (non-task) thread: closed right there.
        let reopened = try DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer { try? reopened.close() }
        #expect(reopened.latestSequence == 4)
        #expect(try reopened.existingKeyspace("users").get(bytes("u3")) == bytes("v"))
    }
}
