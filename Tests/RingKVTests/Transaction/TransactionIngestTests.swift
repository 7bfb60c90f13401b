import Testing
@testable import RingKV

/// An ingest commits outside the write batches a transaction validates
/// against: it raises its keyspace's range slot (docs/TRANSACTIONS.md), so
/// a transaction that touched that keyspace before the ingest conflicts.
@Suite struct TransactionIngestTests {
    @Test func anIngestAfterTheSnapshotMakesATransactionOfItsKeyspaceConflict() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("a", "1")
        let other = try db.keyspace("other")
        let file = dir.sub("bulk.sst")
        let writer = try TableFileWriter(path: file)
        try writer.add(Array("a".utf8), Array("ingested".utf8))
        try writer.finish()

        let txn = db.beginTransaction()
        #expect(try txn.get("a") == Array("1".utf8))
        try txn.put("b", "2")
        let untouched = db.beginTransaction()
        try untouched.put("c", "3", in: other)
        try db.ingest([file])
        #expect(throws: DBError.conflict(key: Array("a".utf8))) { try txn.commit() }
        #expect(try db.get("b") == nil, "a conflicting transaction writes nothing")
        try untouched.commit()
        #expect(try other.get("c") == Array("3".utf8), "another keyspace's transaction is not affected")
        #expect(try db.get("a") == Array("ingested".utf8))
        try db.close()
    }
}
