import RingIO
import Testing
@testable import RingKV

/// A file of the database's own directory named as an ingest source with
/// `move` (for instance one of its live tables, whose entries an earlier
/// ingest left at sequence 0, so every check passes) is refused: moving
/// it would delete a table the database still reads.
@Suite struct IngestOwnFileTests {
    @Test func movingALiveTableOfTheDatabaseIsRefusedAndLosesNothing() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        try IngestTests.writeFile(dir.sub("a.sst"), IngestTests.pairs(0..<100, "a"))
        try db.ingest([dir.sub("a.sst")])
        let tables = try IngestTests.tableNames(path).filter { $0.hasSuffix(".sst") }
        #expect(tables.count == 1)
        let live = path + "/" + (tables.first ?? "")
        let other = try db.keyspace("other")
        var options = IngestOptions()
        options.move = true
        #expect(throws: DBError.self) { try db.ingest([live], into: other, options: options) }
        #expect(FileSystem.exists(live), "the database's own table must stay")
        try db.close()
        let reopened = try DB(path: path, options: openOptions())
        defer { try? reopened.close() }
        for i in [0, 50, 99] { #expect(try reopened.get(String(format: "k%05d", i)) == "a\(i)") }
    }
}

/// A `TableFileWriter` made for a database or one of its keyspaces is
/// refused a path that names one of that database's own files: it
/// creates or truncates its path, and a live table truncated under the
/// database was lost.
@Suite struct TableFileWriterOwnFileTests {
    @Test(arguments: [false, true])
    func aWriterForTheDatabaseRefusesItsLiveTable(_ viaKeyspace: Bool) throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        for i in 0..<100 { try db.put(String(format: "k%05d", i), "v\(i)") }
        try db.flush()
        let tables = try IngestTests.tableNames(path).filter { $0.hasSuffix(".sst") }
        #expect(tables.count == 1)
        let live = path + "/" + (tables.first ?? "")
        #expect(throws: DBError.self) {
            let writer = viaKeyspace ? try TableFileWriter(path: live, for: try db.keyspace("default"))
                : try TableFileWriter(path: live, for: db)
            try writer.add("a", "b")
            try writer.finish()
        }
        try db.close()
        let reopened = try DB(path: path, options: openOptions())
        defer { try? reopened.close() }
        for i in [0, 50, 99] { #expect(try reopened.get(String(format: "k%05d", i)) == "v\(i)") }
    }
}
