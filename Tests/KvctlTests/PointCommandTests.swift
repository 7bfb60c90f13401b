import Glibc
import RingIO
import Testing
@testable import RingKV

@Suite("kvctl put, get, delete and byte escapes")
struct PointCommandTests {
    @Test func putGetDeleteRoundTripAndMissingKeyExitsOne() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var r = try Kvctl.run(["--db", db, "--create", "put", "user1", "hello world"])
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "get", "user1"])
        #expect(r.status == 0)
        #expect(r.out == "hello world\n")
        r = try Kvctl.run(["--db", db, "delete", "user1", "--sync"])
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "get", "user1"])
        #expect(r.status == 1)
        #expect(r.out.isEmpty)
        #expect(r.err.contains("not found"))
    }

    @Test func verboseLogsTheEnginesEventsToStderrAndNothingWithout() throws {
        let dir = try TempDir()
        var r = try Kvctl.run(["--db", dir.sub("db"), "--create", "--verbose", "put", "k", "v"])
        #expect(r.status == 0 && r.out.isEmpty, "\(r.err)")
        #expect(r.err.contains("opened database") && r.err.contains("closed database"), "\(r.err)")
        r = try Kvctl.run(["--db", dir.sub("db"), "--verbose", "get", "k"])
        #expect(r.out == "v\n")
        #expect(r.err.contains("batches_replayed=1"), "\(r.err)")
        r = try Kvctl.run(["--db", dir.sub("db"), "get", "k"])
        #expect(r.out == "v\n" && r.err.isEmpty, "\(r.err)")
    }

    @Test func syncPutIsReadBackThroughTheLibrary() throws {
        let dir = try TempDir()
        let r = try Kvctl.run(["--db", dir.sub("db"), "--create", "put", "--sync", "k", "v"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try contents(of: dir.sub("db"))
        #expect(rows.count == 1 && rows[0].0 == bytes("k") && rows[0].1 == bytes("v"))
    }

    @Test func escapedArgumentsAreStoredAsBytesAndPrintedEscaped() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        let r = try Kvctl.run(["--db", db, "--create", "put", "tab\\tkey\\x00", "a\\\\b\\nc\\xff"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try contents(of: db)
        #expect(rows.map(\.0) == [bytes("tab\tkey") + [0]])
        #expect(rows.map(\.1) == [bytes("a\\b\nc") + [0xff]])
        let scan = try Kvctl.run(["--db", db, "scan"])
        #expect(scan.out == "tab\\tkey\\x00\ta\\\\b\\nc\\xff\n")
    }

    @Test func hexModeReadsAndWritesHex() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        #expect(try Kvctl.run(["--db", db, "--create", "--hex", "put", "00FF0a", "6869"]).status == 0)
        #expect(try contents(of: db).map(\.0) == [[0x00, 0xff, 0x0a]])
        let get = try Kvctl.run(["--db", db, "--hex", "get", "00ff0a"])
        #expect(get.out == "6869\n")
        let scan = try Kvctl.run(["--db", db, "--hex", "scan"])
        #expect(scan.out == "00ff0a\t6869\n")
        let plain = try Kvctl.run(["--db", db, "get", "\\x00\\xff\\n"])
        #expect(plain.out == "hi\n")
    }

    @Test func invalidEscapesAndHexAreUsageErrors() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        for (args, needle) in [(["put", "k", "bad\\q"], "invalid escape"), (["put", "k\\x4", "v"], "two hex digits"),
                               (["put", "k\\", "v"], "lone backslash"), (["--hex", "put", "0g", "00"], "not a hex digit"),
                               (["--hex", "get", "abc"], "odd number of hex digits")] {
            let r = try Kvctl.run(["--db", db, "--create"] + args)
            #expect(r.status == 3, "\(args): \(r.err)")
            #expect(r.err.contains(needle), "\(args): \(r.err)")
            #expect(lines(r.err).count == 1, "one line: \(r.err)")
        }
    }

    @Test func nonUTF8ArgumentsAreReadAsRawBytes() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        let key: [UInt8] = [0x6b, 0xff, 0xfe, 0x5c]       // "k", two invalid bytes, a raw backslash
        let value: [UInt8] = [0xc3, 0x28, 0x00 + 0x41]     // an invalid UTF-8 sequence, then "A"
        var r = try Kvctl.run(raw: [bytes("--db"), bytes(db), bytes("--create"), bytes("put"), key, value])
        #expect(r.status == 0, "\(r.err)")
        #expect(try contents(of: db).map(\.0) == [key])
        #expect(try contents(of: db).map(\.1) == [value])
        r = try Kvctl.run(raw: [bytes("--db"), bytes(db), bytes("get"), key])
        #expect(r.out == "\\xc3(A\n")
        r = try Kvctl.run(["--db", db, "scan"])
        #expect(r.out == "k\\xff\\xfe\\\\\t\\xc3(A\n")
        // A path must be UTF-8: a clear usage error, nothing created.
        r = try Kvctl.run(raw: [bytes("--db"), bytes(dir.path + "/") + [0xff], bytes("--create"), bytes("put"), bytes("a"), bytes("b")])
        #expect(r.status == 3)
        #expect(r.err.contains("valid UTF-8"))
        #expect(try FileSystem.listDirectory(dir.path) == ["db"])
        // With --hex a non-UTF-8 argument is not hex.
        r = try Kvctl.run(raw: [bytes("--db"), bytes(db), bytes("--hex"), bytes("get"), [0xff]])
        #expect(r.status == 3)
    }

    @Test func emptyKeyIsAllowedAsInLevelDB() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        #expect(try Kvctl.run(["--db", db, "--create", "put", "", "empty-key"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "put", "a", ""]).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", ""]).out == "empty-key\n")
        #expect(try Kvctl.run(["--db", db, "get", "a"]).out == "\n")
        #expect(try Kvctl.run(["--db", db, "scan"]).out == "\tempty-key\na\t\n")
        #expect(try Kvctl.run(["--db", db, "delete", ""]).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", ""]).status == 1)
    }

    @Test func valueFileStoresRawBytesAndGetRawPrintsThem() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        let value: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let file = dir.sub("value.bin")
        try writeFile(file, value)
        #expect(try Kvctl.run(["--db", db, "--create", "put", "blob", "--value-file", file]).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", "blob", "--raw"]).stdout == value)
        // From stdin.
        #expect(try Kvctl.run(["--db", db, "put", "blob2", "--value-file", "-"], stdin: value).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", "blob2", "--raw"]).stdout == value)
        // VALUE and --value-file together is a usage error.
        #expect(try Kvctl.run(["--db", db, "put", "k", "v", "--value-file", file]).status == 3)
    }

    @Test func valueOver64MiBIsRefusedWithTheEngineError() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        let file = dir.sub("huge.bin")
        try writeFile(file, [UInt8](repeating: 0x61, count: Options.maxValueSizeBytes + 1))
        let r = try Kvctl.run(["--db", db, "--create", "put", "huge", "--value-file", file])
        #expect(r.status == 4)
        #expect(r.err.contains("exceeds the \(Options.maxValueSizeBytes)-byte limit"), "\(r.err)")
        #expect(lines(r.err).count == 1)
        #expect(try Kvctl.run(["--db", db, "get", "huge"]).status == 1)
    }
}

func writeFile(_ path: String, _ data: [UInt8]) throws {
    let file = try File.open(path, [.write, .create, .truncate])
    defer { try? file.close() }
    var done = 0
    while done < data.count {
        let n = data.withUnsafeBytes { write(file.fd, $0.baseAddress! + done, $0.count - done) }
        guard n > 0 else { throw IOError(operation: "write", errno: errno, path: path) }
        done += n
    }
}
