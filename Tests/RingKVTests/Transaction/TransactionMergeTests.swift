import RingIO
import Testing
@testable import RingKV

/// `Transaction.merge` (docs/TRANSACTIONS.md §Merge operands): own
/// operands fold over own puts and deletes and over the snapshot's value
/// (also one read from a table after a flush), in `get` (sync and async)
/// and in the transaction's iterator; commit writes them through the group
/// commit; a blind merge does not conflict, a read-then-merge does, and a
/// committed merge makes other readers of the key conflict; bad operands
/// are refused at the call; a closed transaction refuses merges.
@Suite struct TransactionMergeTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    static func op(_ n: Int64) -> [UInt8] { CounterMerge.operand(n) }

    static func error(_ body: () throws -> Void) -> DBError? {
        do { try body() } catch let error as DBError { return error } catch { return nil }
        return nil
    }

    static func counterOptions() -> Options {
        var options = openOptions()
        options.mergeOperator = CounterMerge()
        return options
    }

    @Test func ownOperandsFoldOverOwnPutsAndDeletesInOrder() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.counterOptions())
        let k = Self.b("k")
        let txn = db.beginTransaction()
        try txn.put(k, Self.op(7))
        try txn.merge(k, Self.op(1))
        #expect(CounterMerge.value(try txn.get(k)) == 8)
        try txn.merge(k, Self.op(2))
        #expect(CounterMerge.value(try txn.get(k)) == 10)
        try txn.delete(k)
        #expect(try txn.get(k) == nil)
        try txn.merge(k, Self.op(3))
        #expect(CounterMerge.value(try txn.get(k)) == 3)  // onto the own delete: no base
        try txn.put(k, Self.op(100))
        #expect(CounterMerge.value(try txn.get(k)) == 100)  // a later put replaces the operands
        try txn.merge(k, Self.op(1))
        #expect(CounterMerge.value(try txn.get(k)) == 101)
        // An own range deletion covers earlier operands; a later merge
        // starts from nothing.
        try txn.deleteRange(from: Self.b("a"), to: Self.b("z"))
        #expect(try txn.get(k) == nil)
        try txn.merge(k, Self.op(4))
        #expect(CounterMerge.value(try txn.get(k)) == 4)
        // Nothing is visible outside before the commit.
        #expect(try db.get(k) == nil)
        try txn.commit()
        #expect(CounterMerge.value(try db.get(k)) == 4)
        try db.close()
    }

    @Test func ownOperandsFoldOverTheSnapshotValueNotLaterWrites() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: Self.counterOptions())
            let k = Self.b("k")
            try db.put(k, Self.op(10))
            try db.merge(k, Self.op(5))  // the snapshot's value: 15, from a value and an operand
            let txn = db.beginTransaction()
            try db.merge(k, Self.op(1000))  // after the snapshot: not seen inside
            try txn.merge(k, Self.op(1))
            try txn.merge(k, Self.op(2))
            #expect(CounterMerge.value(try txn.get(k)) == 18)
            // A key absent at the snapshot: the operands alone.
            try txn.merge(Self.b("fresh"), Self.op(9))
            #expect(CounterMerge.value(try txn.get(Self.b("fresh"))) == 9)
            // The get read `k` at the snapshot, and another writer wrote it since.
            #expect(Self.error { try txn.commit() } == .conflict(key: k))
            #expect(CounterMerge.value(try db.get(k)) == 1015)
            #expect(try db.get(Self.b("fresh")) == nil)
            try db.close()
        }
        // Committed operands are applied on top of what the database holds then.
        let db = try DB(path: path, options: Self.counterOptions())
        let txn = db.beginTransaction()
        try txn.merge(Self.b("k"), Self.op(1))
        try txn.commit()
        #expect(CounterMerge.value(try db.get(Self.b("k"))) == 1016)
        try db.close()
        let reopened = try DB(path: path, options: Self.counterOptions())
        #expect(CounterMerge.value(try reopened.get(Self.b("k"))) == 1016)
        try reopened.close()
    }

    @Test func foldsOverATableValueAfterAFlushAndInTheIterator() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.counterOptions())
        let users = try db.keyspace("users")
        try db.put(Self.b("a"), Self.op(1))
        try db.merge(Self.b("b"), Self.op(20))
        try db.put(Self.b("c"), Self.op(300))
        try users.merge(Self.b("u"), Self.op(50))
        try db.flush()
        try users.flush()
        try db.merge(Self.b("b"), Self.op(2))  // memtable operand over the table's
        let txn = db.beginTransaction()
        try txn.merge(Self.b("b"), Self.op(100))  // over 22 at the snapshot
        try txn.merge(Self.b("bb"), Self.op(7))  // absent at the snapshot
        try txn.put(Self.b("c"), Self.op(1))
        try txn.merge(Self.b("c"), Self.op(1))  // over the own put, not the table's 300
        try txn.merge(Self.b("u"), Self.op(5), in: users)
        #expect(CounterMerge.value(try txn.get(Self.b("b"))) == 122)
        #expect(CounterMerge.value(try txn.get(Self.b("u"), in: users)) == 55)
        let rows = try txn.scan().map { (String(decoding: $0.key, as: UTF8.self), CounterMerge.value($0.value)) }
        #expect(rows.map(\.0) == ["a", "b", "bb", "c"])
        #expect(rows.map(\.1) == [1, 122, 7, 2])
        let usersRows = try txn.scan(in: users)
        #expect(usersRows.count == 1 && CounterMerge.value(usersRows[0].value) == 55)
        // The iterator's seek lands on a folded own entry too.
        let it = try txn.makeIterator()
        try it.seek(to: Self.b("b"))
        #expect(it.key == Self.b("b") && CounterMerge.value(it.value) == 122)
        try it.next()
        #expect(it.key == Self.b("bb") && CounterMerge.value(it.value) == 7)
        try txn.commit()
        #expect(CounterMerge.value(try db.get(Self.b("b"))) == 122)
        #expect(CounterMerge.value(try db.get(Self.b("bb"))) == 7)
        #expect(CounterMerge.value(try db.get(Self.b("c"))) == 2)
        #expect(CounterMerge.value(try users.get(Self.b("u"))) == 55)
        try db.flush()
        try db.compactRange()
        #expect(CounterMerge.value(try db.get(Self.b("b"))) == 122)
        try db.close()
    }

    @Test func aBlindMergeDoesNotConflictButOthersReadingTheKeyDo() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.counterOptions())
        let k = Self.b("counter")
        try db.put(k, Self.op(0))
        // Blind merges commute with other writes of the key: no conflict.
        let blind = db.beginTransaction()
        try blind.merge(k, Self.op(5))
        try db.merge(k, Self.op(100))
        try db.put(Self.b("other"), Self.op(1))
        try blind.commit()
        #expect(CounterMerge.value(try db.get(k)) == 105)
        // A transaction that read the key conflicts with a committed merge.
        let reader = db.beginTransaction()
        #expect(CounterMerge.value(try reader.get(k)) == 105)
        let merger = db.beginTransaction()
        try merger.merge(k, Self.op(1))
        try merger.commit()
        try reader.put(Self.b("derived"), Self.op(105))
        #expect(Self.error { try reader.commit() } == .conflict(key: k))
        #expect(try db.get(Self.b("derived")) == nil)
        #expect(CounterMerge.value(try db.get(k)) == 106)
        // A read through the transaction's iterator is tracked too.
        let scanner = db.beginTransaction()
        try scanner.merge(k, Self.op(1))
        _ = try scanner.scan(from: k, to: k + [0])
        try db.merge(k, Self.op(1))
        #expect(Self.error { try scanner.commit() } == .conflict(key: k))
        #expect(CounterMerge.value(try db.get(k)) == 107)
        try db.close()
    }

    @Test func badOperandsAreRefusedAtTheCallAndNothingIsBuffered() throws {
        let dir = try TempDir()
        let plain = try DB(path: dir.sub("plain"), options: openOptions())
        let t0 = plain.beginTransaction()
        guard case .invalidArgument(let why)? = Self.error({ try t0.merge(Self.b("k"), Self.op(1)) }) else {
            Issue.record("a merge without a merge operator was not refused")
            return
        }
        #expect(why.contains("mergeOperator"))
        try t0.put(Self.b("p"), Self.b("v"))
        try t0.commit()
        #expect(try plain.get(Self.b("k")) == nil)
        try plain.close()

        let db = try DB(path: dir.sub("db"), options: Self.counterOptions())
        let txn = db.beginTransaction()
        guard case .invalidArgument(let reason)? = Self.error({ try txn.merge(Self.b("k"), [1, 2, 3]) }) else {
            Issue.record("a 3-byte CounterMerge operand was not refused")
            return
        }
        #expect(reason.contains("CounterMerge") && reason.contains("8 bytes"))
        #expect(txn.isOpen)
        #expect(try txn.get(Self.b("k")) == nil)
        try txn.merge(Self.b("k"), Self.op(2))
        try txn.commit()
        #expect(CounterMerge.value(try db.get(Self.b("k"))) == 2)
        // A snapshot value the operator cannot read: the read fails, clearly.
        try db.put(Self.b("text"), Self.b("abc"))
        let bad = db.beginTransaction()
        try bad.merge(Self.b("text"), Self.op(1))
        guard case .mergeFailed(let key, _)? = Self.error({ _ = try bad.get(Self.b("text")) }) else {
            Issue.record("folding onto a 3-byte value did not fail")
            return
        }
        #expect(key == Self.b("text"))
        bad.rollback()
        #expect(try db.get(Self.b("text")) == Self.b("abc"))
        try db.close()
    }

    @Test func aClosedTransactionRefusesMerges() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.counterOptions())
        let committed = db.beginTransaction()
        try committed.merge(Self.b("k"), Self.op(1))
        try committed.commit()
        #expect(Self.error { try committed.merge(Self.b("k"), Self.op(1)) } == .transactionClosed(state: "committed"))
        let rolledBack = db.beginTransaction()
        try rolledBack.merge(Self.b("k"), Self.op(10))
        rolledBack.rollback()
        #expect(Self.error { try rolledBack.merge(Self.b("k"), Self.op(1)) }
                == .transactionClosed(state: "rolled back"))
        #expect(CounterMerge.value(try db.get(Self.b("k"))) == 1)
        try db.close()
    }

    @Test func asyncReadsCommitAndRetryHelperCarryMerges() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: Self.counterOptions())
        try await db.put(Self.b("k"), Self.op(1))
        let txn = db.beginTransaction()
        try txn.merge(Self.b("k"), Self.op(2))
        #expect(CounterMerge.value(try await txn.get(Self.b("k"))) == 3)  // the async read folds too
        try await txn.commit()
        try await db.transaction { txn in
            let now = CounterMerge.value(try await txn.get(Self.b("k"))) ?? 0
            try txn.merge(Self.b("k"), Self.op(now))  // doubles
        }
        #expect(CounterMerge.value(try await db.get(Self.b("k"))) == 6)
        try await db.close()
    }
}
