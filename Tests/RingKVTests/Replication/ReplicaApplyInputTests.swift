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

/// A merge the replica's own `Options.mergeOperator` cannot read (none
/// set, or an operand its `validate` refuses) is refused at `apply`, as
/// `DB.merge` refuses it, nothing applied — not stored to fail every read
/// of the key later.
@Suite struct ReplicaApplyMergeTests {
    static func merge(_ operand: [UInt8], at sequence: UInt64 = 1) -> CommittedBatch {
        CommittedBatch(sequence: sequence, changes: [.merge(keyspace: "default", key: bytes("c"), operand: operand)])
    }

    @Test func aMergeIntoAReplicaWithoutAMergeOperatorIsRefused() throws {
        let dir = try TempDir()
        var options = ReplicationFixtures.replicaOptions()
        options.mergeOperator = nil
        let replica = try DB(path: dir.sub("replica"), options: options)
        defer { try? replica.close() }
        let error = try #require(throws: DBError.self) { try replica.apply(Self.merge(CounterMerge.operand(5))) }
        guard case .invalidArgument = error else { Issue.record("\(error)"); return }
        #expect(replica.latestSequence == 0)
        #expect(try replica.get(bytes("c")) == nil)
    }

    @Test func anOperandTheReplicasOperatorRefusesIsRefusedAndChangesNothing() throws {
        let dir = try TempDir()
        let replica = try DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer { try? replica.close() }
        let error = try #require(throws: DBError.self) { try replica.apply(Self.merge([1, 2, 3])) }
        guard case .invalidArgument = error else { Issue.record("\(error)"); return }
        #expect(replica.latestSequence == 0)
        #expect(try replica.get(bytes("c")) == nil)
        try replica.apply(Self.merge(CounterMerge.operand(5)))
        #expect(CounterMerge.value(try replica.get(bytes("c"))) == 5)
    }
}
