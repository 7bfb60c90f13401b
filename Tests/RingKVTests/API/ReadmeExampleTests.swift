import Testing
import RingKV

/// The README's library example, compiled and run as written (with a temp
/// path), so the README cannot drift from the API.
@Suite struct ReadmeExampleTests {
    @Test func readmeExampleRuns() throws {
        let dir = try TempDir()
        var options = Options()
        options.createIfMissing = true
        let db = try DB(path: dir.sub("example-db"), options: options)
        try db.put(Array("k".utf8), Array("v".utf8), options: WriteOptions(sync: true))
        let v: [UInt8]? = try db.get(Array("k".utf8))
        #expect(v == Array("v".utf8))
        let n: Int? = try db.withValue(forKey: Array("k".utf8)) { bytes in bytes.count }   // zero-copy
        #expect(n == 1)

        var batch = WriteBatch()
        batch.put(Array("a".utf8), Array("1".utf8))
        batch.delete(Array("b".utf8))
        try db.write(batch, options: WriteOptions(sync: true))   // atomic
        try db.put(Array("c1".utf8), Array("gone".utf8))
        try db.deleteRange(from: Array("c".utf8), to: Array("d".utf8))   // [c, d): one range tombstone

        let snap = db.snapshot()
        let it = try db.makeIterator(options: ReadOptions(snapshot: snap))
        try it.seek(to: Array("a".utf8))
        var seen: [[UInt8]] = []
        while it.isValid { seen.append(it.key); try it.next() }

        // Backward, within bounds (lower inclusive, upper exclusive): no block
        // outside them is read.
        let bounded = ReadOptions(lowerBound: Array("a".utf8), upperBound: Array("m".utf8))
        let back = try db.makeIterator(options: bounded)
        try back.seekToLast()                     // or seek(forPrev:): the last key <= target
        var backward: [[UInt8]] = []
        while back.isValid { backward.append(back.key); try back.prev() }
        let newest = try db.scan(from: Array("a".utf8), to: Array("m".utf8), limit: 10, reverse: true)
        try db.close()
        #expect(seen == [Array("a".utf8), Array("k".utf8)])
        #expect(backward == [Array("k".utf8), Array("a".utf8)])
        #expect(newest.map(\.key) == backward)
    }

    @Test func secondOpenOfALockedDatabaseFailsClearly() throws {
        let dir = try TempDir()
        var options = Options()
        options.createIfMissing = true
        let db = try DB(path: dir.sub("db"), options: options)
        #expect { try DB(path: dir.sub("db"), options: options) } throws: { error in
            guard case DBError.locked = error else { return false }
            return true
        }
        try db.close()
        try db.close()  // idempotent
        let reopened = try DB(path: dir.sub("db"), options: options)
        try reopened.close()
    }

    @Test func missingDatabaseWithoutCreateIsNotFound() throws {
        let dir = try TempDir()
        #expect(throws: DBError.databaseNotFound(path: dir.sub("absent"))) { try DB(path: dir.sub("absent")) }
    }

    @Test func closedDatabaseRefusesWork() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.close()
        #expect(throws: DBError.self) { try db.put("k", "v") }
        #expect(throws: DBError.self) { try db.get("k") }
    }

    /// The README's async snippet, as written.
    @Test func readmeAsyncExampleRuns() async throws {
        let dir = try TempDir()
        var options = Options()
        options.createIfMissing = true
        let db = try await DB(path: dir.sub("example-db"), options: options)
        try await db.put(Array("k".utf8), Array("v".utf8), options: WriteOptions(sync: true))
        let value: [UInt8]? = try await db.get(Array("k".utf8))
        let values: [[UInt8]?] = try await db.multiGet([Array("k".utf8), Array("x".utf8)])
        var rows: [[UInt8]] = []
        for try await (key, value) in db.entries(from: Array("a".utf8), to: Array("z".utf8)) { rows.append(key + value) }
        #expect(value == Array("v".utf8))
        #expect(values == [Array("v".utf8), nil])
        #expect(rows == [Array("kv".utf8)])
    }
}
