import Glibc
import RingIO
import Testing
@testable import RingKV

@Suite("kvctl scan, load and export")
struct ScanLoadExportTests {
    /// k000 ... k099 -> v0 ... v99, plus "other" keys, loaded through kvctl.
    private func loadSample(_ db: String) throws {
        var input = ""
        for i in 0..<100 { input += (i < 10 ? "k00" : "k0") + "\(i)\tv\(i)\n" }
        input += "other1\to1\nother2\to2\n"
        let r = try Kvctl.run(["--db", db, "--create", "load", "-"], stdin: bytes(input))
        #expect(r.status == 0, "\(r.err)")
    }

    @Test func scanHonoursFromToPrefixLimitAndKeysOnly() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        try loadSample(db)
        var r = try Kvctl.run(["--db", db, "scan"])
        #expect(lines(r.out).count == 102)
        #expect(lines(r.out).first == "k000\tv0")
        #expect(lines(r.out).last == "other2\to2")
        r = try Kvctl.run(["--db", db, "scan", "--from", "k010", "--to", "k013"])
        #expect(lines(r.out) == ["k010\tv10", "k011\tv11", "k012\tv12"])
        r = try Kvctl.run(["--db", db, "scan", "--prefix", "other", "--keys-only"])
        #expect(lines(r.out) == ["other1", "other2"])
        r = try Kvctl.run(["--db", db, "scan", "--prefix", "k09", "--limit", "3"])
        #expect(lines(r.out) == ["k090\tv90", "k091\tv91", "k092\tv92"])
        r = try Kvctl.run(["--db", db, "scan", "--from", "k050", "--prefix", "k0", "--limit", "2", "--keys-only"])
        #expect(lines(r.out) == ["k050", "k051"])
        r = try Kvctl.run(["--db", db, "scan", "--limit", "0"])
        #expect(r.status == 0 && r.out.isEmpty)
        r = try Kvctl.run(["--db", db, "scan", "--limit", "-1"])
        #expect(r.status == 3)
    }

    @Test func reverseScanHonoursFromToPrefixLimitAndKeysOnly() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        try loadSample(db)
        var r = try Kvctl.run(["--db", db, "scan", "--reverse"])
        #expect(r.status == 0, "\(r.err)")
        #expect(lines(r.out).count == 102)
        #expect(lines(r.out).first == "other2\to2")
        #expect(lines(r.out).last == "k000\tv0")
        #expect(lines(r.out) == lines(try Kvctl.run(["--db", db, "scan"]).out).reversed())
        r = try Kvctl.run(["--db", db, "scan", "--reverse", "--from", "k010", "--to", "k013"])
        #expect(lines(r.out) == ["k012\tv12", "k011\tv11", "k010\tv10"])
        r = try Kvctl.run(["--db", db, "scan", "--reverse", "--prefix", "other", "--keys-only"])
        #expect(lines(r.out) == ["other2", "other1"])
        r = try Kvctl.run(["--db", db, "scan", "--reverse", "--prefix", "k09", "--limit", "3"])
        #expect(lines(r.out) == ["k099\tv99", "k098\tv98", "k097\tv97"])
        r = try Kvctl.run(["--db", db, "scan", "--reverse", "--to", "k050", "--prefix", "k0", "--limit", "2", "--keys-only"])
        #expect(lines(r.out) == ["k049", "k048"])
        r = try Kvctl.run(["--db", db, "scan", "--reverse", "--from", "k098", "--prefix", "k0", "--keys-only"])
        #expect(lines(r.out) == ["k099", "k098"])
        r = try Kvctl.run(["--db", db, "scan", "--reverse", "--limit", "0"])
        #expect(r.status == 0 && r.out.isEmpty)
    }

    /// A prefix ending in 0xff bytes has no end key but still bounds the scan.
    @Test func reverseScanOfAPrefixOfFFBytes() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        for key in ["fe", "ff00", "ff01", "ffff", "ffffff"] {
            #expect(try Kvctl.run(["--db", db, "--create", "--hex", "put", key, "01"]).status == 0)
        }
        var r = try Kvctl.run(["--db", db, "--hex", "scan", "--reverse", "--prefix", "ffff", "--keys-only"])
        #expect(lines(r.out) == ["ffffff", "ffff"], "\(r.err)")
        r = try Kvctl.run(["--db", db, "--hex", "scan", "--reverse", "--prefix", "ff", "--keys-only"])
        #expect(lines(r.out) == ["ffffff", "ffff", "ff01", "ff00"], "\(r.err)")
        r = try Kvctl.run(["--db", db, "--hex", "scan", "--prefix", "ff", "--keys-only", "--limit", "2"])
        #expect(lines(r.out) == ["ff00", "ff01"], "\(r.err)")
    }

    @Test func exportPrintsEveryPairAndHonoursPrefix() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        try loadSample(db)
        #expect(lines(try Kvctl.run(["--db", db, "export"]).out).count == 102)
        #expect(try Kvctl.run(["--db", db, "export", "--prefix", "other"]).out == "other1\to1\nother2\to2\n")
    }

    @Test func checkpointMakesADirectoryKvctlOpensAsACopy() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        try loadSample(db)
        var r = try Kvctl.run(["--db", db, "checkpoint", dir.sub("cp")])
        #expect(r.status == 0, "\(r.err)")
        #expect(try Kvctl.run(["--db", db, "put", "k000", "changed"]).status == 0)
        r = try Kvctl.run(["--db", dir.sub("cp"), "export"])
        #expect(lines(r.out).count == 102)
        #expect(lines(r.out).first == "k000\tv0")
        // An existing target is refused with a message naming it.
        r = try Kvctl.run(["--db", db, "checkpoint", dir.sub("cp")])
        #expect(r.status == 4 && r.err.contains("already exists"), "\(r.err)")
    }

    @Test func loadWithoutTerminalPrintsOneSummaryLine() throws {
        let dir = try TempDir()
        let file = dir.sub("in.tsv")
        try writeFile(file, bytes((0..<2500).map { "key\($0)\tvalue\($0)\n" }.joined()))
        let r = try Kvctl.run(["--db", dir.sub("db"), "--create", "load", file, "--batch-records", "1000"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.isEmpty)
        #expect(lines(r.err).count == 1)
        #expect(r.err.contains("loaded 2500 records from 2500 lines"), "\(r.err)")
        #expect(try contents(of: dir.sub("db")).count == 2500)
    }

    @Test(arguments: [
        ("a\t1\nb\t2\nno tab here\nc\t3\n", 3, "no tab"),
        ("a\t1\nb\t2\nx\ty\tz\nc\t3\n", 3, "more than one tab"),
        ("a\t1\nb\t2\nbad\\q\tv\nc\t3\n", 3, "invalid escape"),
        ("a\t1\nb\t2\nk\tbad\\x1\nc\t3\n", 3, "two hex digits"),
        ("a\t1\nb\t2\n\nc\t3\n", 3, "empty line"),
    ])
    func loadStopsAtABadLineAndKeepsWhatPrecedesIt(input: String, line: Int, reason: String) throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        // Batches of one line: the lines before the bad one span committed
        // batches and the pending one; all of them must stay.
        let r = try Kvctl.run(["--db", db, "--create", "load", "-", "--batch-records", "1"], stdin: bytes(input))
        #expect(r.status == 4)
        #expect(r.err.contains("load stopped at line \(line) of stdin"), "\(r.err)")
        #expect(r.err.contains(reason), "\(r.err)")
        #expect(r.err.contains("Everything before it (2 lines, 2 records) was written and committed"), "\(r.err)")
        #expect(try contents(of: db).map(\.0) == [bytes("a"), bytes("b")])
    }

    @Test func loadReportsAValueOver64MiBWithItsLineNumber() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var input = bytes("small\tvalue\nhuge\t")
        input += [UInt8](repeating: 0x62, count: Options.maxValueSizeBytes + 1)
        input += bytes("\nlater\tx\n")
        let r = try Kvctl.run(["--db", db, "--create", "load", "-"], stdin: input)
        #expect(r.status == 4)
        #expect(r.err.contains("line 2"), "\(r.err)")
        #expect(r.err.contains("exceeds the \(Options.maxValueSizeBytes)-byte limit"), "\(r.err)")
        #expect(try contents(of: db).map(\.0) == [bytes("small")])
    }

    @Test func loadAcceptsCRLFAndAFinalLineWithoutNewline() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        let r = try Kvctl.run(["--db", db, "--create", "load", "-"], stdin: bytes("a\t1\r\nb\t2"))
        #expect(r.status == 0, "\(r.err)")
        let rows = try contents(of: db)
        #expect(rows.map(\.0) == [bytes("a"), bytes("b")])
        #expect(rows.map(\.1) == [bytes("1"), bytes("2")])
    }

    @Test func loadOfAMissingFileNamesIt() throws {
        let dir = try TempDir()
        let r = try Kvctl.run(["--db", dir.sub("db"), "--create", "load", dir.sub("nope.tsv")])
        #expect(r.status == 4)
        #expect(r.err.contains(dir.sub("nope.tsv")))
        #expect(r.err.contains("No such file"))
    }

    /// Random binary keys and values (every byte value, tabs, newlines,
    /// backslashes, the empty key) survive export | load, in both encodings.
    @Test(arguments: [false, true])
    func exportPipedIntoLoadRebuildsAnIdenticalDatabase(hex: Bool) throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        let source = dir.sub("source")
        var expected: [[UInt8]: [UInt8]] = [[]: bytes("the empty key")]
        do {
            let db = try DB(path: source, options: libraryOptions())
            try db.put([], bytes("the empty key"))
            for i in 0..<3000 {
                let key = (0..<Int.random(in: 1...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var value = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if i % 10 == 0 { value = bytes("tab\there\nnewline\\backslash") }
                try db.put(key, value)
                expected[key] = value
                if i == 1500 { try db.flush() }   // some pairs in a table, some in the WAL
            }
            try db.close()
        }
        let mode = hex ? ["--hex"] : []
        let exported = try Kvctl.run(["--db", source] + mode + ["export"])
        #expect(exported.status == 0, "\(exported.err)")
        #expect(!exported.stdout.contains(0x00), "export output is text")
        let loaded = try Kvctl.run(["--db", dir.sub("copy"), "--create"] + mode + ["load", "-"], stdin: exported.stdout)
        #expect(loaded.status == 0, "seed \(seed): \(loaded.err)")

        let original = try contents(of: source)
        let copy = try contents(of: dir.sub("copy"))
        #expect(original.count == expected.count, "seed \(seed)")
        #expect(copy.count == original.count, "seed \(seed)")
        #expect(copy.map(\.0) == original.map(\.0), "seed \(seed): keys differ")
        #expect(copy.map(\.1) == original.map(\.1), "seed \(seed): values differ")
        // And exporting the copy gives the same text.
        #expect(try Kvctl.run(["--db", dir.sub("copy")] + mode + ["export"]).stdout == exported.stdout, "seed \(seed)")
    }
}
