import Testing
@testable import RingKV

/// Transactions in a TTL keyspace: a transaction's own writes read back
/// without a stamp, its commit stamps them (so they expire like any
/// write), its reads of committed values strip the stamp and hide expired
/// ones, and a merge into the keyspace is refused at the call.
@Suite struct TTLTransactionTests {
    typealias F = TTLFixtures

    @Test func transactionsStampTheirWritesAndSeeExpiryInATTLKeyspace() throws {
        let clock = TTLTestClock()
        let dir = try TempDir()
        var options = F.options(clock)
        options.mergeOperator = CounterMerge()
        let db = try DB(path: dir.sub("db"), options: options)
        defer { try? db.close() }
        let ks = try db.keyspace("ttl", options: KeyspaceOptions(ttl: .seconds(10)))
        try ks.put("old", "o")

        let txn = db.beginTransaction()
        try txn.put(Array("new".utf8), Array("n".utf8), in: ks)
        #expect(try txn.get(Array("new".utf8), in: ks) == Array("n".utf8), "own write, no stamp")
        #expect(try txn.get(Array("old".utf8), in: ks) == Array("o".utf8), "committed value, stamp stripped")
        do {
            try txn.merge(Array("c".utf8), CounterMerge.operand(1), in: ks)
            Issue.record("a merge into a TTL keyspace was buffered")
        } catch DBError.invalidArgument {
        }
        try txn.commit()
        #expect(try ks.get("new") == Array("n".utf8))

        clock.advanceSeconds(11)
        #expect(try ks.get("new") == nil && ks.get("old") == nil, "a committed write expires like a put")
        let late = db.beginTransaction()
        #expect(try late.get(Array("old".utf8), in: ks) == nil, "a transaction does not see an expired value")
        late.rollback()
    }
}
