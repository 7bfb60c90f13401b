import Glibc
import RingIO
import Testing
@testable import RingKV
import RingKVTools

@Suite("kvctl stats, flush, compact, verify, dump-wal, dump-sst")
struct InspectionTests {
    @Test func statsShowsLevelsTablesAndWALAsTableAndJSON() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try makeTableDatabase(path, keys: 500)
        do {
            // Two more operations that stay in the WAL.
            let db = try DB(path: path, options: libraryOptions())
            try db.put(bytes("zz"), bytes("1"))
            try db.delete(bytes("key100000"))
            try db.close()
        }
        let r = try Kvctl.run(["--db", path, "stats"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("last sequence   502"), "\(r.out)")
        #expect(lines(r.out).contains { $0.hasPrefix("L0") && $0.contains("500") }, "\(r.out)")
        #expect(r.out.contains("'key100000' .. 'key100499'"), "\(r.out)")
        #expect(lines(r.out).contains { $0.contains(".log") && $0.contains(" 2 ") && $0.contains("clean") }, "\(r.out)")
        let json = try Kvctl.run(["--db", path, "stats", "--json"])
        #expect(json.status == 0)
        #expect(lines(json.out).count == 1)
        for needle in ["\"last_sequence\":502", "\"table_entries\":500", "\"operations\":2",
                       "{\"level\":0,\"files\":1,", "\"smallest_key\":\"key100000\""] {
            #expect(json.out.contains(needle), "stats --json lacks \(needle): \(json.out)")
        }
        // Read-only: stats leaves every file as it was.
        let before = try FileSystem.listDirectory(path).sorted()
        _ = try Kvctl.run(["--db", path, "stats"])
        #expect(try FileSystem.listDirectory(path).sorted() == before)
    }

    @Test func flushAndCompactMoveTheMemtableIntoTables() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        #expect(try Kvctl.run(["--db", path, "--create", "flush"]).status == 0)
        let c = try Kvctl.run(["--db", path, "compact", "--from", "a", "--to", "m"])
        #expect(c.status == 0, "\(c.err)")
        #expect(c.out == "compacted [a, m)\n")
        #expect(try Kvctl.run(["--db", path, "compact", "--from", "bad\\q"]).status == 3)
        #expect(try Kvctl.run(["--db", path, "put", "k", "v"]).status == 0)
        #expect(try Kvctl.run(["--db", path, "get", "k"]).out == "v\n")
    }

    @Test func verifyOnACleanDatabaseExitsZero() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try makeTableDatabase(path)
        let r = try Kvctl.run(["--db", path, "verify"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("ok       CURRENT"))
        #expect(r.out.contains(".sst"))
        #expect(r.out.contains("verify: no damage found"))
        #expect(!r.out.contains("DAMAGED"))
    }

    @Test func verifyNamesTheTableAndBlockOffsetOfAFlippedByte() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try makeTableDatabase(path)
        let table = try files(in: path, suffix: ".sst")[0]
        var blocks: [TableBlockSummary] = []
        try DatabaseTools.dumpSST(path: table).forEachBlock { block, _ in blocks.append(block) }
        #expect(blocks.count >= 3)
        let victim = blocks[1].location
        try flipByte(table, at: victim.offset + victim.sizeBytes / 2)
        let r = try Kvctl.run(["--db", path, "verify"])
        #expect(r.status == 2, "\(r.out)\(r.err)")
        #expect(r.out.contains("DAMAGED  \(table) at offset \(victim.offset): block checksum mismatch"), "\(r.out)")
        #expect(r.err.contains("verify found 1 problem in \(path)"), "\(r.err)")
    }

    @Test func verifyFindsADamagedWALRecordAndManifestRecord() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: libraryOptions())
            for i in 0..<3 { try db.put(bytes("k\(i)"), bytes("v\(i)"), options: WriteOptions(sync: true)) }
            try db.close()
        }
        let wal = try files(in: path, suffix: ".log")[0]
        try flipByte(wal, at: UInt64(LogRecord.headerSize + 2))   // inside the first of three records
        var r = try Kvctl.run(["--db", path, "verify"])
        #expect(r.status == 2)
        #expect(r.out.contains("DAMAGED  \(wal) at offset 0: record checksum mismatch"), "\(r.out)")

        let manifest = try files(in: path, suffix: "").filter { $0.contains("MANIFEST-") }[0]
        let manifestRecords = try LogReader(path: manifest, backend: PosixBackend()).readAll(evidence: .everyRecord, strict: true).payloads
        if manifestRecords.count >= 2 {
            try flipByte(manifest, at: UInt64(LogRecord.headerSize + 1))
            r = try Kvctl.run(["--db", path, "verify"])
            #expect(r.status == 2)
            #expect(r.out.contains("DAMAGED  \(manifest) at offset 0"), "\(r.out)")
        }
        // A damaged CURRENT.
        try writeFile(path + "/CURRENT", bytes("garbage\n"))
        r = try Kvctl.run(["--db", path, "verify"])
        #expect(r.status == 2)
        #expect(r.out.contains("DAMAGED  \(path)/CURRENT at offset 0"), "\(r.out)")
    }

    @Test func tornWALTailIsReportedAsDroppedBytes() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: libraryOptions())
            try db.put(bytes("only"), bytes("record"))
            try db.close()
        }
        let wal = try files(in: path, suffix: ".log")[0]
        try flipByte(wal, at: UInt64(LogRecord.headerSize + 2))   // the last record, zeros after it
        let r = try Kvctl.run(["--db", path, "verify"])
        #expect(r.status == 2, "\(r.out)")
        #expect(r.out.contains("DROPPED  \(wal) at offset 0: torn tail (record checksum mismatch)"), "\(r.out)")
    }

    /// Issue #14's reproduction: `kvctl load` of 50 lines (one fsynced
    /// batch), one byte flipped inside that last WAL record. The next open
    /// drops the record (nothing proves it was synced) — but keeps it under
    /// lost/, and `kvctl verify` reports it before and after.
    @Test func droppedLastWALRecordIsReportedBeforeAndAfterTheOpen() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let input = (0..<50).map { "key\(String(repeating: "0", count: $0 < 10 ? 2 : 1))\($0)\tvalue\($0)\n" }.joined()
        let load = try Kvctl.run(["--db", path, "--create", "load", "-"], stdin: Array(input.utf8))
        #expect(load.status == 0, "\(load.err)")
        let wal = try files(in: path, suffix: ".log")[0]
        let data = try readWholeFile(wal)
        let recordEnd = try #require(data.lastIndex { $0 != 0 }) + 1
        try flipByte(wal, at: UInt64(recordEnd / 2))
        var r = try Kvctl.run(["--db", path, "verify"])
        #expect(r.status == 2 && r.out.contains("DROPPED  \(wal) at offset 0"), "\(r.out)")

        let get = try Kvctl.run(["--db", path, "get", "key010"])
        #expect(get.status == 1, "\(get.out)\(get.err)")
        // A writing open keeps the dropped bytes under lost/.
        #expect(try Kvctl.run(["--db", path, "put", "after", "1"]).status == 0)
        let lost = LostFiles.list(dbPath: path)
        #expect(lost.map(\.name) == [LostFiles.name(source: wal, offset: 0)])
        #expect(lost.first?.sizeBytes == UInt64(recordEnd))
        r = try Kvctl.run(["--db", path, "verify"])
        #expect(r.status == 2, "\(r.out)")
        #expect(r.out.contains("DROPPED  \(LostFiles.directory(path))/\(lost.first?.name ?? "")"), "\(r.out)")
        #expect(r.out.contains("\(recordEnd) bytes that recovery dropped from \(FileSystem.baseName(wal)) at offset 0"),
                "\(r.out)")
    }

    @Test func dumpWALShowsRecordsTheLibraryWrote() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: libraryOptions())
            var batch = WriteBatch()
            batch.put(bytes("apple"), bytes("red"))
            batch.delete(bytes("banana"))
            batch.put([0x00, 0xff], [UInt8](repeating: 1, count: 300))
            try db.write(batch, options: WriteOptions(sync: true))
            try db.put(bytes("cherry"), bytes(""))
            try db.close()
        }
        let wal = try files(in: path, suffix: ".log")[0]
        var r = try Kvctl.run(["dump-wal", wal])
        #expect(r.status == 0, "\(r.err)")
        let out = lines(r.out)
        #expect(out.first?.hasPrefix("wal \(wal): 2 records, 4 operations") == true, "\(r.out)")
        #expect(out.contains { $0.hasPrefix("record 1 at offset 0: sequence 1, 3 operations") }, "\(r.out)")
        #expect(out.contains("  seq 1  PUT  'apple'  value 3 bytes"), "\(r.out)")
        #expect(out.contains("  seq 2  DEL  'banana'"), "\(r.out)")
        #expect(out.contains("  seq 3  PUT  '\\x00\\xff'  value 300 bytes"), "\(r.out)")
        #expect(out.contains("  seq 4  PUT  'cherry'  value 0 bytes"), "\(r.out)")
        #expect(out.last == "end: clean")
        r = try Kvctl.run(["--hex", "dump-wal", wal])
        #expect(lines(r.out).contains("  seq 3  PUT  '00ff'  value 300 bytes"), "\(r.out)")
        // Damage in the first record: the dump says where, status 2.
        try flipByte(wal, at: UInt64(LogRecord.headerSize + 3))
        r = try Kvctl.run(["dump-wal", wal])
        #expect(r.status == 2)
        #expect(r.out.contains("end: DAMAGED at offset 0: record checksum mismatch"), "\(r.out)")
        #expect(try Kvctl.run(["dump-wal", dir.sub("none.log")]).status == 4)
    }

    @Test func dumpSSTShowsPropertiesEntriesAndBlocks() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: libraryOptions())
            try db.put(bytes("a"), bytes("1"))
            try db.put(bytes("b"), bytes("22"))
            try db.delete(bytes("c"))
            try db.flush()
            try db.close()
        }
        let table = try files(in: path, suffix: ".sst")[0]
        var r = try Kvctl.run(["dump-sst", table])
        #expect(r.status == 0, "\(r.err)")
        let out = lines(r.out)
        #expect(out.first == "table \(table): 4096 bytes", "\(r.out)")
        #expect(out.contains { $0.hasPrefix("  entries 3 (1 deletions), 1 data block") }, "\(r.out)")
        #expect(out.contains("  keys 'a' .. 'c'"), "\(r.out)")
        #expect(Array(out.suffix(3)) == ["  seq 1  PUT  'a'  value 1 bytes", "  seq 2  PUT  'b'  value 2 bytes",
                                         "  seq 3  DEL  'c'"], "\(r.out)")
        #expect(!r.out.contains("block 0 at"))
        r = try Kvctl.run(["dump-sst", table, "--blocks"])
        #expect(lines(r.out).contains { $0.hasPrefix("block 0 at offset 0: ") && $0.hasSuffix("3 entries") }, "\(r.out)")

        // Many blocks: every entry is listed once, blocks in file order.
        let big = dir.sub("big")
        try makeTableDatabase(big)
        let bigTable = try files(in: big, suffix: ".sst")[0]
        r = try Kvctl.run(["dump-sst", bigTable, "--blocks"])
        #expect(lines(r.out).filter { $0.hasPrefix("  seq ") }.count == 2000)
        #expect(lines(r.out).filter { $0.hasPrefix("block ") }.count > 3)
        #expect(try Kvctl.run(["dump-sst", dir.sub("none.sst")]).status == 4)
        try writeFile(dir.sub("short.sst"), bytes("not a table"))
        let short = try Kvctl.run(["dump-sst", dir.sub("short.sst")])
        #expect(short.status == 2)
        #expect(short.err.contains(dir.sub("short.sst")))
    }
}
