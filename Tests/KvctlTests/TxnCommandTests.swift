import Glibc
import RingIO
import Testing
@testable import RingKV

@Suite("kvctl txn")
struct TxnCommandTests {
    @Test func linesApplyAsOneTransactionAndGetsSeeOwnWrites() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var r = try Kvctl.run(["--db", db, "--create", "put", "a", "100"])
        #expect(r.status == 0, "\(r.err)")
        let script = "get a\nput a 90\n# a comment\n\nget a\nput b 10 with space\nget b\ndelete a\nget a\n"
        r = try Kvctl.run(["--db", db, "txn", "--sync"], stdin: Array(script.utf8))
        #expect(r.status == 0, "\(r.err)")
        #expect(lines(r.out) == ["100", "90", "10 with space", "(not found)"])
        #expect(try contents(of: db).map { String(decoding: $0.1, as: UTF8.self) } == ["10 with space"])
        // Keys with escapes, and --hex.
        r = try Kvctl.run(["--db", db, "--hex", "txn"], stdin: Array("put 00ff 6869\nget 00ff\n".utf8))
        #expect(r.status == 0, "\(r.err)")
        #expect(lines(r.out) == ["6869"])
    }

    @Test func aBadLineWritesNothing() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var r = try Kvctl.run(["--db", db, "--create", "put", "k", "v"])
        r = try Kvctl.run(["--db", db, "txn"], stdin: Array("put x 1\nfrob y\n".utf8))
        #expect(r.status == 3)
        #expect(r.err.contains("line 2") && r.err.contains("frob"), "\(r.err)")
        r = try Kvctl.run(["--db", db, "txn"], stdin: Array("put x 1\nput onlykey\n".utf8))
        #expect(r.status == 3)
        #expect(r.err.contains("line 2: put needs KEY and VALUE"), "\(r.err)")
        #expect(try contents(of: db).count == 1)
    }

    @Test func theConflictMessageAndExitCode() throws {
        // A second process cannot write the database while kvctl holds
        // it (LOCK), so the conflict path is checked through its message
        // and exit code mapping.
        let r = try Kvctl.run(["--help"])
        #expect(r.out.contains("5  txn: conflict"), "\(r.out)")
    }
}
