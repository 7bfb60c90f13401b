import Testing
@testable import RingKV

/// `next()` and `prev()` on an iterator that is not valid (never
/// positioned, or moved past either end) throw `DBError.misuse`; they
/// trapped (a precondition) before, taking the process down for a
/// caller's mistake. The iterator stays usable: a seek positions it.
/// `withKey`/`withValue` there lend an empty buffer, as `key` and `value`
/// are empty (they trapped too).
@Suite struct DBIteratorMisuseTests {
    @Test func nextOrPrevOnAnInvalidIteratorThrowsMisuse() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        try db.put(bytes("a"), bytes("1"))
        let it = try db.makeIterator()
        #expect(!it.isValid)
        #expect { try it.next() } throws: { error in
            guard case DBError.misuse(let why) = error else { return false }
            return why.contains("next()")
        }
        #expect { try it.prev() } throws: { error in
            guard case DBError.misuse(let why) = error else { return false }
            return why.contains("prev()")
        }
        try it.seekToFirst()
        #expect(it.key == bytes("a"))
        try it.next()
        #expect(!it.isValid)
        #expect(throws: DBError.self) { try it.next() }
        #expect(throws: DBError.self) { try it.prev() }
        try it.seekToLast()
        #expect(it.key == bytes("a") && it.value == bytes("1"))
    }

    /// Lent bytes of an invalid iterator: empty, whatever made it invalid
    /// (never positioned, past the last key, before the first, an empty
    /// range); the body runs and its result and errors pass through.
    @Test func withKeyAndWithValueOnAnInvalidIteratorLendEmptyBytes() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        try db.put(bytes("a"), bytes("1"))
        let users = try db.keyspace("users")
        try users.put(bytes("u"), bytes("2"))
        func expectEmpty(_ it: DBIterator, _ label: String) throws {
            #expect(!it.isValid, "\(label)")
            #expect(it.withKey { Array($0) } == [], "\(label): withKey")
            #expect(it.withValue { Array($0) } == [], "\(label): withValue")
            #expect(it.key == [] && it.value == [], "\(label): key, value")
            struct Stop: Error {}
            #expect(throws: Stop.self) { try it.withKey { _ in throw Stop() } }
            #expect(throws: Stop.self) { try it.withValue { _ in throw Stop() } }
        }
        let it = try db.makeIterator()
        try expectEmpty(it, "never positioned")
        try it.seekToFirst()
        #expect(it.withKey { Array($0) } == bytes("a") && it.withValue { Array($0) } == bytes("1"))
        try it.next()
        try expectEmpty(it, "past the last key")
        try it.seekToFirst()
        try it.prev()
        try expectEmpty(it, "before the first key")
        try it.seek(to: bytes("b"))
        try expectEmpty(it, "seek past every key")
        var bounded = ReadOptions()
        bounded.lowerBound = bytes("x")
        let empty = try db.makeIterator(options: bounded)
        try empty.seekToFirst()
        try expectEmpty(empty, "empty range")
        let inKeyspace = try users.makeIterator()
        try expectEmpty(inKeyspace, "keyspace, never positioned")
        try inKeyspace.seekToLast()
        #expect(inKeyspace.withKey { Array($0) } == bytes("u"))
        try inKeyspace.next()
        try expectEmpty(inKeyspace, "keyspace, past the last key")
    }
}
