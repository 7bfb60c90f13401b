import Glibc
import RingIO
import Testing
@testable import RingKV

/// Optimistic transactions through the public API (docs/TRANSACTIONS.md):
/// read-your-writes, snapshot reads, conflicts on read and written keys,
/// no conflict on disjoint keys, range deletions, use after the end, the
/// retry helper (sync and async), iterators merging own writes, keyspaces.
@Suite struct TransactionTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func error(_ body: () throws -> Void) -> DBError? {
        do { try body() } catch let error as DBError { return error } catch { return nil }
        return nil
    }

    @Test func readsSeeOwnWritesThenTheSnapshot() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("a", "1")
        try db.put("b", "2")
        try db.put("c", "3")
        let txn = db.beginTransaction()
        try db.put("a", "changed after begin")
        try db.put("new", "after begin")
        #expect(try txn.get(Self.b("a")) == Self.b("1"))
        #expect(try txn.get(Self.b("new")) == nil)
        try txn.put(Self.b("b"), Self.b("mine"))
        try txn.delete(Self.b("c"))
        try txn.put(Self.b("d"), Self.b("4"))
        #expect(try txn.get(Self.b("b")) == Self.b("mine"))
        #expect(try txn.get(Self.b("c")) == nil)
        #expect(try txn.get(Self.b("d")) == Self.b("4"))
        // Nothing is visible outside before commit.
        #expect(try db.get("b") == "2")
        #expect(try db.get("d") as String? == nil)
        // An own range deletion hides snapshot keys and earlier own
        // writes; a later own write shows again.
        try txn.deleteRange(from: Self.b("b"), to: Self.b("e"))
        #expect(try txn.get(Self.b("b")) == nil)
        #expect(try txn.get(Self.b("d")) == nil)
        try txn.put(Self.b("d"), Self.b("again"))
        #expect(try txn.get(Self.b("d")) == Self.b("again"))
        txn.rollback()
        #expect(try db.get("b") == "2")
        try db.close()
    }

    @Test func commitIsAtomicAndDurableAcrossReopen() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            let users = try db.keyspace("users")
            let txn = db.beginTransaction(options: WriteOptions(sync: true))
            try txn.put(Self.b("k1"), Self.b("v1"))
            try txn.put(Self.b("k2"), Self.b("v2"), in: users)
            try txn.commit()
            #expect(!txn.isOpen)
            #expect(try db.get("k1") == "v1")
            #expect(try users.get("k2") == "v2")
            try db.close()
        }
        let db = try DB(path: path, options: openOptions())
        #expect(try db.get("k1") == "v1")
        #expect(try db.keyspace("users").get("k2") == "v2")
        try db.close()
    }

    @Test func aKeyReadAndCommittedByAnotherWriterConflicts() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("balance", "10")
        let txn = db.beginTransaction()
        #expect(try txn.get(Self.b("balance")) == Self.b("10"))
        try db.put("balance", "20")  // another writer
        try txn.put(Self.b("other"), Self.b("x"))
        #expect(Self.error { try txn.commit() } == .conflict(key: Self.b("balance")))
        // Nothing of the transaction was written.
        #expect(try db.get("other") as String? == nil)
        #expect(try db.get("balance") == "20")
        // A later write still works.
        try db.put("after", "ok")
        #expect(try db.get("after") == "ok")
        try db.close()
    }

    @Test func aKeyWrittenBlindAndCommittedByAnotherWriterConflicts() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let txn = db.beginTransaction()
        try txn.put(Self.b("k"), Self.b("txn"))
        // A batch, a delete and a plain put each count as a write.
        var batch = WriteBatch()
        batch.delete("k")
        try db.write(batch)
        #expect(Self.error { try txn.commit() } == .conflict(key: Self.b("k")))
        #expect(try db.get("k") as String? == nil)

        let second = db.beginTransaction()
        try second.put(Self.b("k"), Self.b("txn"))
        try db.delete("k")
        #expect(Self.error { try second.commit() } == .conflict(key: Self.b("k")))
        try db.close()
    }

    @Test func disjointKeysDoNotConflict() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("a", "1")
        let t1 = db.beginTransaction()
        let t2 = db.beginTransaction()
        _ = try t1.get(Self.b("a"))
        try t1.put(Self.b("a"), Self.b("t1"))
        _ = try t2.get(Self.b("b"))
        try t2.put(Self.b("b"), Self.b("t2"))
        for i in 0..<100 { try db.put("unrelated\(i)", "x") }
        try t1.commit()
        try t2.commit()
        #expect(try db.get("a") == "t1")
        #expect(try db.get("b") == "t2")
        // Of two transactions writing one key from the same snapshot, the
        // first to commit wins.
        let t3 = db.beginTransaction()
        let t4 = db.beginTransaction()
        try t3.put(Self.b("a"), Self.b("t3"))
        try t4.put(Self.b("a"), Self.b("t4"))
        try t3.commit()
        #expect(Self.error { try t4.commit() } == .conflict(key: Self.b("a")))
        #expect(try db.get("a") == "t3")
        try db.close()
    }

    @Test func aReadOnlyTransactionIsValidatedToo() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let clean = db.beginTransaction()
        _ = try clean.get(Self.b("x"))
        try clean.commit()
        let txn = db.beginTransaction()
        _ = try txn.get(Self.b("x"))
        try db.put("x", "1")
        #expect(Self.error { try txn.commit() } == .conflict(key: Self.b("x")))
        try db.close()
    }

    @Test func aRangeDeletionInTheKeyspaceConflictsConservatively() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let other = try db.keyspace("other")
        try db.put("m", "1")
        let txn = db.beginTransaction()
        _ = try txn.get(Self.b("m"))
        try txn.put(Self.b("z"), Self.b("1"))
        // A range deletion in another keyspace does not matter.
        try other.deleteRange(from: Self.b("a"), to: Self.b("zz"))
        let untouched = db.beginTransaction()
        _ = try untouched.get(Self.b("m"))
        // One in the transaction's keyspace does (even not covering "m").
        try db.deleteRange(from: Self.b("q"), to: Self.b("r"))
        #expect(Self.error { try txn.commit() } != nil)
        #expect(try db.get("z") as String? == nil)
        try db.close()
    }

    @Test func useAfterCommitOrRollbackThrowsAClearError() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let txn = db.beginTransaction()
        try txn.put(Self.b("k"), Self.b("v"))
        try txn.commit()
        #expect(Self.error { _ = try txn.get(Self.b("k")) } == .transactionClosed(state: "committed"))
        #expect(Self.error { try txn.put(Self.b("k"), Self.b("w")) } == .transactionClosed(state: "committed"))
        #expect(Self.error { try txn.commit() } == .transactionClosed(state: "committed"))
        #expect(Self.error { _ = try txn.makeIterator() } == .transactionClosed(state: "committed"))
        txn.rollback()  // a no-op now
        #expect(try db.get("k") == "v")

        let rolled = db.beginTransaction()
        try rolled.put(Self.b("r"), Self.b("v"))
        rolled.rollback()
        #expect(Self.error { try rolled.delete(Self.b("r")) } == .transactionClosed(state: "rolled back"))
        #expect(Self.error { try rolled.commit() } == .transactionClosed(state: "rolled back"))
        #expect(try db.get("r") as String? == nil)

        let failed = db.beginTransaction()
        try failed.put(Self.b("k"), Self.b("x"))
        try db.put("k", "y")
        #expect(Self.error { try failed.commit() } == .conflict(key: Self.b("k")))
        #expect(Self.error { try failed.commit() } == .transactionClosed(state: "ended by a failed commit"))
        #expect(DBError.transactionClosed(state: "committed").description.contains("committed"))
        try db.close()
    }

    @Test func theRetryHelperRunsTheBodyAgainOnConflict() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("n", "0")
        var runs = 0
        let result = try db.transaction { txn -> Int in
            runs += 1
            let n = Int(String(decoding: try txn.get(Self.b("n")) ?? [], as: UTF8.self)) ?? -1
            if runs == 1 { try db.put("n", "100") }  // a concurrent writer, once
            try txn.put(Self.b("n"), Self.b(String(n + 1)))
            return n + 1
        }
        #expect(runs == 2)
        #expect(result == 101)
        #expect(try db.get("n") == "101")
        // Bounded: a body that always conflicts gives up with the conflict.
        var attempts = 0
        #expect(Self.error {
            _ = try db.transaction(maxAttempts: 3) { txn in
                attempts += 1
                _ = try txn.get(Self.b("n"))
                try db.put("n", "x")
            }
        } == .conflict(key: Self.b("n")))
        #expect(attempts == 3)
        // Other errors are not retried.
        attempts = 0
        #expect(Self.error {
            _ = try db.transaction { txn in
                attempts += 1
                try txn.put([UInt8](repeating: 1, count: Options.maxKeySizeBytes + 1), [])
            }
        } != nil)
        #expect(attempts == 1)
        #expect(Self.error { _ = try db.transaction(maxAttempts: 0) { _ in 1 } } != nil)
        try db.close()
    }

    @Test func theAsyncFormCommitsThroughTheAsyncWritePath() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        try await db.put("n", "0")
        let counter = Locked(0)
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    try await db.transaction(maxAttempts: 1000) { txn in
                        counter.withLock { $0 += 1 }
                        let n = Int(String(decoding: try await txn.get(Self.b("n")) ?? [], as: UTF8.self)) ?? -1
                        await Task.yield()
                        try txn.put(Self.b("n"), Self.b(String(n + 1)))
                        return 1
                    }
                }
            }
            var sum = 0
            for try await one in group { sum += one }
            return sum
        }
        #expect(total == 16)
        #expect(try await db.get("n") == "16")
        print("async increments: \(counter.withLock { $0 }) runs for 16 commits")
        // The documented form: a body that does not suspend still takes the
        // async overload in an async context (a build warning otherwise).
        let r2 = try await db.transaction { txn in try txn.put(Self.b("k"), Self.b("v")); return 1 }
        #expect(r2 == 1)
        // A conflicting async commit writes nothing.
        let txn = db.beginTransaction()
        _ = try await txn.get(Self.b("n"))
        try txn.put(Self.b("side"), Self.b("x"))
        try await db.put("n", "changed")
        await #expect(throws: DBError.conflict(key: Self.b("n"))) { try await txn.commit() }
        #expect(try await db.get("side") as String? == nil)
        try await db.close()
    }

    @Test func anIteratorMergesOwnWritesOverTheSnapshot() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        for k in ["a", "c", "e", "g", "i"] { try db.put(k, "db-" + k) }
        try db.flush()
        try db.put("k", "db-k")
        let txn = db.beginTransaction()
        try db.put("b", "after begin")  // not in the snapshot
        try txn.put(Self.b("c"), Self.b("own-c"))
        try txn.delete(Self.b("e"))
        try txn.put(Self.b("f"), Self.b("own-f"))
        try txn.put(Self.b("z"), Self.b("own-z"))
        try txn.deleteRange(from: Self.b("h"), to: Self.b("j"))  // hides "i"
        let rows = try txn.scan().map { (String(decoding: $0.key, as: UTF8.self), String(decoding: $0.value, as: UTF8.self)) }
        #expect(rows.map(\.0) == ["a", "c", "f", "g", "k", "z"])
        #expect(rows.map(\.1) == ["db-a", "own-c", "own-f", "db-g", "db-k", "own-z"])
        let bounded = try txn.scan(from: Self.b("c"), to: Self.b("k")).map { String(decoding: $0.key, as: UTF8.self) }
        #expect(bounded == ["c", "f", "g"])
        let it = try txn.makeIterator()
        try it.seek(to: Self.b("d"))
        #expect(it.key == Self.b("f"))
        try it.next()
        #expect(it.key == Self.b("g"))
        // Keys the iterator returned are tracked: a commit of "g" by
        // another writer makes the transaction conflict.
        try db.put("g", "changed")
        #expect(Self.error { try txn.commit() } == .conflict(key: Self.b("g")))
        try db.close()
    }

    @Test func keysInAnyKeyspace() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let users = try db.keyspace("users")
        let logs = try db.keyspace("logs")
        try users.put("u", "1")
        let txn = db.beginTransaction()
        #expect(try txn.get(Self.b("u"), in: users) == Self.b("1"))
        #expect(try txn.get(Self.b("u")) == nil)  // the default keyspace has no "u"
        try txn.put(Self.b("u"), Self.b("2"), in: users)
        try txn.put(Self.b("entry"), Self.b("u changed"), in: logs)
        // The same key in another keyspace is another key ("u" of the
        // default keyspace was read above: a write of it would conflict).
        try logs.put("u", "logs")
        #expect(try txn.scan(in: users).map(\.key) == [Self.b("u")])
        try txn.commit()
        #expect(try users.get("u") == "2")
        #expect(try logs.get("entry") == "u changed")
        // A conflict in a keyspace.
        let t2 = db.beginTransaction()
        _ = try t2.get(Self.b("u"), in: users)
        try users.put("u", "3")
        try t2.put(Self.b("x"), Self.b("1"), in: logs)
        #expect(Self.error { try t2.commit() } == .conflict(key: Self.b("u")))
        #expect(try logs.get("x") as String? == nil)
        // A keyspace of another database is refused.
        let otherDB = try DB(path: dir.sub("other"), options: openOptions())
        let foreign = try otherDB.keyspace("users")
        let t3 = db.beginTransaction()
        #expect(Self.error { try t3.put(Self.b("k"), Self.b("v"), in: foreign) } != nil)
        try otherDB.close()
        try db.close()
    }

    @Test func theSnapshotSurvivesCompaction() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("k", "old")
        let txn = db.beginTransaction()
        try db.put("k", "new")
        try db.compactRange()
        #expect(try txn.get(Self.b("k")) == Self.b("old"))
        txn.rollback()
        try db.close()
    }
}
