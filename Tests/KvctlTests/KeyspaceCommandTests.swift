import Glibc
import RingIO
import Testing
@testable import RingKV

@Suite("kvctl keyspace commands, --keyspace and compact --from/--to")
struct KeyspaceCommandTests {
    @Test func keyspaceListCreateDropAndDataCommandsOnAKeyspace() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var r = try Kvctl.run(["--db", db, "--create", "keyspace", "create", "users"])
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "keyspace", "list"])
        #expect(r.status == 0 && r.out == "default\nusers\n", "\(r.out) \(r.err)")
        #expect(try Kvctl.run(["--db", db, "put", "--keyspace", "users", "k", "in users"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "put", "k", "in default"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", "--keyspace", "users", "k"]).out == "in users\n")
        #expect(try Kvctl.run(["--db", db, "get", "k"]).out == "in default\n")
        #expect(try Kvctl.run(["--db", db, "put", "--keyspace", "users", "k2", "x"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "put", "k2", "y"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "delete-range", "--keyspace", "users", "k2", "k3"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", "--keyspace", "users", "k2"]).status == 1)
        #expect(try Kvctl.run(["--db", db, "get", "k2"]).out == "y\n")
        #expect(try Kvctl.run(["--db", db, "delete", "--keyspace", "users", "k"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", "--keyspace", "users", "k"]).status == 1)
        #expect(try Kvctl.run(["--db", db, "get", "k"]).out == "in default\n")
        #expect(try Kvctl.run(["--db", db, "keyspace", "drop", "users"]).status == 0)
        r = try Kvctl.run(["--db", db, "keyspace", "list"])
        #expect(r.out == "default\n")
        r = try Kvctl.run(["--db", db, "keyspace", "drop", "default"])
        #expect(r.status != 0 && !r.err.isEmpty)
    }

    @Test func anUnknownKeyspaceIsAnErrorAndNeverCreated() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        #expect(try Kvctl.run(["--db", db, "--create", "put", "k", "v"]).status == 0)
        for args in [["get", "--keyspace", "nope", "k"], ["put", "--keyspace", "nope", "k", "v"],
                     ["delete", "--keyspace", "nope", "k"], ["compact", "--keyspace", "nope"],
                     ["delete-range", "--keyspace", "nope", "a", "b"],
                     ["keyspace", "drop", "nope"]] {
            let r = try Kvctl.run(["--db", db] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.err.contains("nope"), "\(args): \(r.err)")
        }
        #expect(try Kvctl.run(["--db", db, "keyspace", "list"]).out == "default\n")
    }

    @Test func compactHonoursFromAndTo() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = libraryOptions()
        options.l0CompactionTrigger = 30
        options.l0SlowdownTrigger = 32
        options.l0StopTrigger = 36
        do {
            let db = try DB(path: path, options: options)
            for prefix in ["a", "m", "z"] {
                for i in 0..<50 { try db.put("\(prefix)\(i)", "v\(i)") }
                try db.flush()
            }
            try db.close()
        }
        var r = try Kvctl.run(["--db", path, "compact", "--from", "m", "--to", "n"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "compacted [m, n)\n")
        do {
            let db = try DB(path: path, options: options)
            let levels = db.stats().levels
            #expect(levels[0].files == 2 && levels[1].files == 1, "\(levels)")
            #expect(try db.get("m7") == "v7")
            try db.close()
        }
        r = try Kvctl.run(["--db", path, "compact", "--from", "n", "--to", "m"])
        #expect(r.status != 0 && r.err.contains("range"), "\(r.err)")
        r = try Kvctl.run(["--db", path, "compact"])
        #expect(r.status == 0 && r.out == "compacted the whole key range\n")
    }
}
