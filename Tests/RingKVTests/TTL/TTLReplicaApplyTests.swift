import Testing
@testable import RingKV

/// A replica's `apply` into a TTL keyspace (docs/MERGE_TTL.md §TTL): the
/// primary's values arrive with their write time; a put too short to
/// carry one, or a merge, is refused with nothing applied.
@Suite struct TTLReplicaApplyTests {
    /// A TTL keyspace's values end in their 8-byte write time and it takes
    /// no merges: a put shorter than that, or a merge, would leave a key
    /// no read and no compaction of the keyspace can get past.
    @Test func aTTLKeyspaceRefusesAValueWithoutAWriteTimeAndAMerge() throws {
        let dir = try TempDir()
        let replica = try DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer { try? replica.close() }
        let logs = try replica.keyspace("logs", options: KeyspaceOptions(ttl: .seconds(3600)))
        let stamp = TTLStamp.bytes(TTLPolicy.systemNowNanos())
        try replica.apply(CommittedBatch(sequence: 1, changes: [ReplicationFixtures.put("logs", "a", bytes("v") + stamp),
                                                                ReplicationFixtures.put("logs", "empty", stamp)],
                                         stampedKeyspaces: ["logs"]))
        let short = CommittedBatch(sequence: 3, changes: [ReplicationFixtures.put("default", "x", bytes("1")),
                                                          ReplicationFixtures.put("logs", "b", bytes("short"))],
                                   stampedKeyspaces: ["logs"])
        do {
            try replica.apply(short)
            Issue.record("a 5-byte value was applied to a TTL keyspace")
        } catch {
            #expect("\(error)".contains("logs"), "\(error)")
        }
        let merge = CommittedBatch(sequence: 3, changes: [.merge(keyspace: "logs", key: bytes("c"),
                                                                 operand: [1, 0, 0, 0, 0, 0, 0, 0])],
                                   stampedKeyspaces: ["logs"])
        #expect(throws: TTLPolicy.mergeRefusal(keyspace: "logs")) { try replica.apply(merge) }
        #expect(replica.latestSequence == 2)
        #expect(try replica.get(bytes("x")) == nil)
        #expect(try logs.get("a") == "v" && logs.get("empty") == "")
        try logs.flush()
        try logs.compactRange()
        #expect(try logs.scan().map { $0.key } == [bytes("a"), bytes("empty")])
        // The next commit still applies.
        try replica.apply(CommittedBatch(sequence: 3, changes: [ReplicationFixtures.put("logs", "b", bytes("w") + stamp)],
                                         stampedKeyspaces: ["logs"]))
        #expect(try logs.get("b") == "w")
    }
}
