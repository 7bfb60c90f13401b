import Testing
@testable import RingKV

/// A committed transaction raises the conflict slots of exactly what it
/// wrote from its check (ConflictTable.raise(transaction:)), without
/// decoding its batch: a put or delete of a key it read first, a put of a
/// key whose slot another of its tracked keys already holds, and its range
/// deletions must all make other transactions that read those keys
/// conflict; keys it only read must not.
@Suite struct TransactionConflictSlotTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func error(_ body: () throws -> Void) -> DBError? {
        do { try body() } catch let error as DBError { return error } catch { return nil }
        return nil
    }

    /// Two keys of the default keyspace that share a conflict slot.
    static func collidingKeys() -> ([UInt8], [UInt8]) {
        var seen: [Int: [UInt8]] = [:]
        var i = 0
        while true {
            let key = b("collide/\(i)")
            let slot = ConflictTable.slot(keyspace: 0, key: key)
            if let other = seen[slot] { return (other, key) }
            seen[slot] = key
            i += 1
        }
    }

    @Test func aPutAfterAGetOfTheSameKeyRaisesItsSlot() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("k", "0")
        let reader = db.beginTransaction()
        _ = try reader.get(Self.b("k"))
        let writer = db.beginTransaction()
        _ = try writer.get(Self.b("k"))  // tracked as read first …
        try writer.put(Self.b("k"), Self.b("1"))  // … then written
        try writer.commit()
        try reader.put(Self.b("elsewhere"), Self.b("x"))
        #expect(Self.error { try reader.commit() } == .conflict(key: Self.b("k")))
        try db.close()
    }

    @Test func aReadOnlyKeyOfACommittedTransactionIsNotRaised() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("r", "0")
        let reader = db.beginTransaction()
        _ = try reader.get(Self.b("r"))
        let other = db.beginTransaction()
        _ = try other.get(Self.b("r"))
        try other.put(Self.b("w"), Self.b("1"))
        try other.commit()
        try reader.put(Self.b("mine"), Self.b("x"))
        try reader.commit()
        #expect(try db.get("mine") == "x")
        try db.close()
    }

    @Test func aWriteDedupedIntoAReadKeysSlotStillRaisesIt() throws {
        let (read, written) = Self.collidingKeys()
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let reader = db.beginTransaction()
        _ = try reader.get(written)
        let writer = db.beginTransaction()
        _ = try writer.get(read)  // holds the shared slot, as read only
        try writer.put(written, Self.b("1"))  // same slot: deduplicated
        try writer.commit()
        try reader.put(Self.b("elsewhere"), Self.b("x"))
        #expect(Self.error { try reader.commit() } == .conflict(key: written))
        try db.close()
    }

    @Test func aTransactionsRangeDeletionRaisesItsKeyspace() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let users = try db.keyspace("users")
        try users.put(Self.b("m"), Self.b("1"))
        let reader = db.beginTransaction()
        _ = try reader.get(Self.b("m"), in: users)
        let deleter = db.beginTransaction()
        try deleter.deleteRange(from: Self.b("q"), to: Self.b("r"), in: users)
        try deleter.commit()
        try reader.put(Self.b("z"), Self.b("1"))
        #expect(Self.error { try reader.commit() } == .conflict(key: Self.b("m")))
        try db.close()
    }

    @Test func aTransactionsDeleteRaisesItsKeyInAnotherKeyspace() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let users = try db.keyspace("users")
        try users.put(Self.b("u"), Self.b("1"))
        let reader = db.beginTransaction()
        _ = try reader.get(Self.b("u"), in: users)
        let deleter = db.beginTransaction()
        try deleter.delete(Self.b("u"), in: users)
        try deleter.commit()
        try reader.put(Self.b("z"), Self.b("1"))
        #expect(Self.error { try reader.commit() } == .conflict(key: Self.b("u")))
        try db.close()
    }

    /// The snapshot's registration is taken when the transaction begins
    /// (its `Snapshot` object only when a read needs one): a compaction
    /// after the begin keeps the versions its later reads of another
    /// keyspace see, and after commit the registration is gone.
    @Test func theSnapshotIsRegisteredAtBeginAndReleasedAtTheEnd() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let users = try db.keyspace("users")
        try users.put(Self.b("u"), Self.b("old"))
        try users.flush()
        let txn = db.beginTransaction()
        #expect(db.impl.snapshots.count == 1)
        try users.put(Self.b("u"), Self.b("new"))
        try users.delete(Self.b("u"))
        try users.flush()
        try users.compactRange()
        #expect(try txn.get(Self.b("u"), in: users) == Self.b("old"))
        // (It read "u", written since: its commit conflicts, and ends it.)
        #expect(Self.error { try txn.commit() } == .conflict(key: Self.b("u")))
        #expect(db.impl.snapshots.count == 0)
        let dropped = db.beginTransaction()
        _ = try dropped.get(Self.b("u"), in: users)
        #expect(db.impl.snapshots.count == 2)  // the registration and its Snapshot
        dropped.rollback()
        #expect(db.impl.snapshots.count == 0)
        do {
            let abandoned = db.beginTransaction()
            _ = try abandoned.get(Self.b("u"))
        }
        #expect(db.impl.snapshots.count == 0)  // released by deinit
        try db.close()
    }
}
