import Glibc
import RingIO
import Testing
@testable import RingKV

/// `kvctl load --ingest` and `--keyspace` on scan, export and load.
@Suite("kvctl load --ingest, --keyspace on scan/export/load")
struct IngestLoadTests {
    @Test func ingestLoadSortsChunksLetsTheLaterLineWinAndBypassesTheWAL() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        // Unsorted, a repeated key, and chunks small enough that there are several.
        var input = ""
        for i in stride(from: 299, through: 0, by: -1) { input += "k\(1000 + i)\tv\(i)\n" }
        input += "k1005\tlater\n"
        var r = try Kvctl.run(["--db", db, "--create", "load", "-", "--ingest", "--ingest-chunk-bytes", "4000"],
                              stdin: bytes(input))
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "scan"])
        let out = lines(r.out)
        #expect(out.count == 300 && out.first == "k1000\tv0" && out.last == "k1299\tv299")
        #expect(out.contains("k1005\tlater"))
        // The data went into tables by ingest: nothing was logged.
        let opened = try DB(path: db, options: libraryOptions())
        #expect(opened.impl.versions.current.files.flatMap { $0 }.filter { $0.globalSequence != 0 }.count >= 2)
        try opened.close()
        // No scratch directory is left behind.
        #expect(try FileSystem.listDirectory(dir.path).filter { $0.contains(".load-") }.isEmpty)
    }

    @Test func keyspaceOptionOnLoadScanAndExport() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var r = try Kvctl.run(["--db", db, "--create", "keyspace", "create", "users"])
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "load", "-", "--keyspace", "users"], stdin: bytes("u2\tb\nu1\ta\n"))
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "load", "-", "--keyspace", "users", "--ingest"], stdin: bytes("u3\tc\n"))
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "load", "-"], stdin: bytes("d1\tx\n"))
        #expect(r.status == 0, "\(r.err)")
        #expect(lines(try Kvctl.run(["--db", db, "scan", "--keyspace", "users"]).out) == ["u1\ta", "u2\tb", "u3\tc"])
        #expect(lines(try Kvctl.run(["--db", db, "export", "--keyspace", "users"]).out) == ["u1\ta", "u2\tb", "u3\tc"])
        #expect(lines(try Kvctl.run(["--db", db, "scan"]).out) == ["d1\tx"])
        r = try Kvctl.run(["--db", db, "scan", "--keyspace", "nope"])
        #expect(r.status != 0 && r.err.contains("nope"))
        r = try Kvctl.run(["--db", db, "load", "-", "--keyspace", "nope", "--ingest"], stdin: bytes("a\tb\n"))
        #expect(r.status != 0)
    }
}
