import Glibc
import RingIO
import Testing
@testable import RingKV

@Suite("kvctl errors, exit codes and help")
struct ErrorTests {
    @Test func missingDatabaseWithoutCreateFailsAndCreatesNothing() throws {
        let dir = try TempDir()
        let db = dir.sub("absent")
        for command in [["get", "k"], ["put", "k", "v"], ["scan"], ["stats"], ["verify"], ["flush"]] {
            let r = try Kvctl.run(["--db", db] + command)
            #expect(r.status == 4, "\(command): \(r.err)")
            #expect(r.err == "kvctl: no database at \(db) (pass --create to create one)\n", "\(command)")
        }
        #expect(!FileSystem.exists(db))
        #expect(try Kvctl.run(["--db", db, "--create", "stats"]).status == 0)
        #expect(FileSystem.isDirectory(db))
    }

    @Test func lockedDatabaseFailsAtOnceWithThePath() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: libraryOptions())
        defer { try? db.close() }
        try db.put(bytes("k"), bytes("v"))
        for command in [["get", "k"], ["put", "a", "b"], ["scan"], ["export"], ["stats"], ["verify"], ["compact"]] {
            let started = ContinuousClock.now
            let r = try Kvctl.run(["--db", path] + command)
            #expect(r.status == 4, "\(command): \(r.err)")
            #expect(r.err.hasPrefix("kvctl: database is locked: \(path)"), "\(command): \(r.err)")
            #expect(lines(r.err).count == 1)
            #expect(ContinuousClock.now - started < .seconds(30), "\(command) waited for the lock")
        }
        // The holder is undisturbed.
        #expect(try db.get(bytes("k")) == bytes("v"))
    }

    /// Root ignores file permissions, so the check runs kvctl as nobody
    /// through setpriv when the tests run as root.
    @Test func permissionDeniedNamesTheFile() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try DB(path: path, options: libraryOptions()).close()
        var launcher: [String] = []
        if geteuid() == 0 {
            guard FileSystem.exists("/usr/bin/setpriv") else { return }
            launcher = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            chmod(dir.path, 0o755)
            chmod(path, 0o755)
            chmod(path + "/LOCK", 0o600)
        } else {
            chmod(path + "/LOCK", 0o000)
        }
        let r = try Kvctl.run(raw: [bytes("--db"), bytes(path), bytes("get"), bytes("k")], via: launcher)
        #expect(r.status == 4, "\(r.err)")
        #expect(r.err.contains("\(path)/LOCK"), "\(r.err)")
        #expect(r.err.contains("Permission denied"), "\(r.err)")
        // Hidden behind a directory nobody may enter: still a permission error, not "no database".
        chmod(dir.path, 0o700)
        if geteuid() == 0 {
            let hidden = try Kvctl.run(raw: [bytes("--db"), bytes(path), bytes("get"), bytes("k")], via: launcher)
            #expect(hidden.status == 4)
            #expect(hidden.err.contains("stat failed on \(path)"), "\(hidden.err)")
            #expect(hidden.err.contains("Permission denied"), "\(hidden.err)")
            #expect(!hidden.err.contains("no database"), "\(hidden.err)")
        }
    }

    @Test func corruptedFileIsReportedWithPathAndOffsetAndExitTwo() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try makeTableDatabase(path)
        let table = try files(in: path, suffix: ".sst")[0]
        try flipByte(table, at: 3)   // inside the first data block
        let r = try Kvctl.run(["--db", path, "scan"])
        #expect(r.status == 2)
        #expect(r.err.contains("corruption in \(table) at offset 0"), "\(r.err)")
        #expect(lines(r.err).count == 1)
    }

    @Test func usageErrorsExitThree() throws {
        let dir = try TempDir()
        for args in [["bogus"], ["--db", dir.path, "get"], ["--db", dir.path, "scan", "--limit", "x"],
                     ["get", "k"], ["--db", dir.path, "put", "k"], ["--nope"]] {
            let r = try Kvctl.run(args)
            #expect(r.status == 3, "\(args): \(r.err)")
            #expect(!r.err.isEmpty)
        }
    }

    @Test func everyCommandHasHelpWithExamples() throws {
        let root = try Kvctl.run(["--help"])
        #expect(root.status == 0)
        for needle in ["Exit codes:", "0  success", "1  not found", "2  corruption", "3  usage error", "4  any other error",
                       "Examples:", "--db <PATH>", "--create", "--hex"] {
            #expect(root.out.contains(needle), "kvctl --help lacks \(needle)")
        }
        for command in ["put", "get", "delete", "scan", "load", "export", "stats", "compact", "flush", "verify",
                        "dump-wal", "dump-sst", "keyspace"] {
            let r = try Kvctl.run([command, "--help"])
            #expect(r.status == 0, "\(command) --help: \(r.err)")
            #expect(r.out.contains("Examples:"), "\(command) --help has no examples")
            #expect(r.out.contains("kvctl "), "\(command) --help has no example command line")
            #expect(try Kvctl.run(["help", command]).out == r.out)
        }
    }
}

/// A closed database with one table of several data blocks.
func makeTableDatabase(_ path: String, keys: Int = 2000) throws {
    let db = try DB(path: path, options: libraryOptions())
    for i in 0..<keys {
        try db.put(bytes("key\(100_000 + i)"), [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 100))
    }
    try db.flush()
    try db.close()
}
