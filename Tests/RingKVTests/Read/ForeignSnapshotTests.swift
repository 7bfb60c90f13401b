import Testing
@testable import RingKV

/// A snapshot reads only the database it was taken of. Another database's
/// compactions keep nothing for it: its reads through the snapshot were
/// answered at the foreign sequence and changed once a compaction dropped
/// the versions it "saw" (a deleted value read back, then gone).
@Suite struct ForeignSnapshotTests {
    @Test func aSnapshotOfAnotherDatabaseIsRefusedByEveryRead() throws {
        let dir = try TempDir()
        let a = try DB(path: dir.sub("a"), options: openOptions())
        defer { try? a.close() }
        let b = try DB(path: dir.sub("b"), options: openOptions())
        defer { try? b.close() }
        try a.put(bytes("x"), bytes("1"))
        let foreign = a.snapshot()
        try b.put(bytes("k"), bytes("old"))
        try b.put(bytes("k2"), bytes("v"))
        try b.delete(bytes("k"))
        let options = ReadOptions(snapshot: foreign)
        #expect(throws: DBError.self) { try b.get(bytes("k"), options: options) }
        #expect(throws: DBError.self) { try b.multiGet([bytes("k"), bytes("k2")], options: options) }
        #expect(throws: DBError.self) { try b.scan(options: options) }
        // Its own database still reads through it.
        #expect(try a.get(bytes("x"), options: options) == bytes("1"))
        #expect(try b.get(bytes("k2"), options: ReadOptions(snapshot: b.snapshot())) == bytes("v"))
    }
}
