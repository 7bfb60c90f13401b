import Testing
@testable import RingKV

/// `next()` and `prev()` on an iterator that is not valid (never
/// positioned, or moved past either end) throw `DBError.misuse`; they
/// trapped (a precondition) before, taking the process down for a
/// caller's mistake. The iterator stays usable: a seek positions it.
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
}
