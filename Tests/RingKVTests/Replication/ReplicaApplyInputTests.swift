import Testing
@testable import RingKV

/// `apply` of commits no primary could have produced (sequences past 56
/// bits, or past UInt64.max): refused with an error, nothing applied, the
/// replica still sound (never a trap).
@Suite struct ReplicaApplyInputTests {
    @Test func commitsRunningPastTheLastSequenceAreRefusedAndChangeNothing() throws {
        let dir = try TempDir()
        let replica = try DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer { try? replica.close() }
        let wide = CommittedBatch(sequence: UInt64.max - 1,
                                  changes: [ReplicationFixtures.put("default", "a", bytes("1")), ReplicationFixtures.put("default", "b", bytes("2")),
                                            ReplicationFixtures.put("default", "c", bytes("3"))])
        #expect(wide.lastSequence == UInt64.max)  // saturates
        #expect(throws: DBError.self) { try replica.apply(wide) }
        let last = CommittedBatch(sequence: UInt64.max, changes: [ReplicationFixtures.put("default", "a", bytes("1"))])
        let after = CommittedBatch(sequence: 0, changes: [ReplicationFixtures.put("default", "b", bytes("2"))])
        #expect(throws: DBError.self) { try replica.apply([last, after]) }
        #expect(replica.latestSequence == 0)
        #expect(try replica.get(bytes("a")) == nil && replica.get(bytes("b")) == nil)
        try replica.apply(CommittedBatch(sequence: 1, changes: [ReplicationFixtures.put("default", "a", bytes("1"))]))
        #expect(replica.latestSequence == 1)
    }
}
