import Testing
@testable import RingKV

/// A replica's keyspace must have a ttl exactly when the primary's has one
/// (docs/MERGE_TTL.md §TTL): the feed marks the
/// keyspaces whose values carry the write time
/// (`CommittedBatch.stampedKeyspaces`), and `apply` refuses a mismatch
/// with nothing applied, in either direction.
@Suite struct TTLReplicaMismatchTests {
    /// A TTL primary and a plain replica keyspace: applied, the replica
    /// would return each value with the primary's 8-byte write time on it.
    @Test func aPlainReplicaKeyspaceRefusesATTLPrimarysValues() async throws {
        let dir = try TempDir()
        let primary = try await DB(path: dir.sub("primary"), options: ReplicationFixtures.primaryOptions())
        let replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        let logs = try await primary.keyspace("logs", options: KeyspaceOptions(ttl: .seconds(3600)))
        let mirror = try await replica.keyspace("logs")
        try await primary.put("d", "1")
        try await logs.put("k", "v")
        let batches = try await ChangeFeedTests.collect(primary.changes(since: 0), count: 2)
        #expect(batches.map(\.stampedKeyspaces) == [[], ["logs"]])
        try await replica.apply(batches[0])
        await #expect(throws: DBError.self) { try await replica.apply(batches[1]) }
        #expect(replica.latestSequence == 1)
        #expect(try await mirror.get("k") == nil)
        try await primary.close()
        try await replica.close()
    }

    /// A plain primary and a TTL replica keyspace: applied, the replica
    /// would read each value's last 8 bytes as its write time.
    @Test func aTTLReplicaKeyspaceRefusesAPlainPrimarysValues() async throws {
        let dir = try TempDir()
        let primary = try await DB(path: dir.sub("primary"), options: ReplicationFixtures.primaryOptions())
        let replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        let users = try await primary.keyspace("users")
        let mirror = try await replica.keyspace("users", options: KeyspaceOptions(ttl: .seconds(3600)))
        try await users.put("k", "a value of more than 8 bytes")
        let batches = try await ChangeFeedTests.collect(primary.changes(since: 0), count: 1)
        #expect(batches.first?.stampedKeyspaces == [])
        do {
            try await replica.apply(batches[0])
            Issue.record("a plain keyspace's put was applied into a TTL keyspace")
        } catch {
            #expect("\(error)".contains("users") && "\(error)".contains("ttl"), "\(error)")
        }
        #expect(replica.latestSequence == 0)
        #expect(try await mirror.get("k") == nil)
        try await primary.close()
        try await replica.close()
    }

    /// A batch built by hand that marks "default" as stamped names a
    /// keyspace no primary gives a ttl: refused too.
    @Test func aStampedDefaultKeyspaceIsRefused() throws {
        let dir = try TempDir()
        let replica = try DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer { try? replica.close() }
        let batch = CommittedBatch(sequence: 1, changes: [ReplicationFixtures.put("default", "a", bytes("123456789"))],
                                   stampedKeyspaces: ["default"])
        #expect(throws: DBError.self) { try replica.apply(batch) }
        #expect(try replica.get(bytes("a")) == nil)
    }
}
