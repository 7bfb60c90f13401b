import RingIO
import Testing
@testable import RingKV

/// `TableFileWriter` and `DB.ingest` (docs/INGEST.md): refusals change
/// nothing, ingested values supersede older ones (in tables and in the
/// memtable), snapshots taken before do not see them, keyspaces, reopen,
/// compaction, and the format-6 MANIFEST record.
@Suite struct IngestTests {
    /// Writes `pairs` (sorted by the caller) to a table file at `path`.
    @discardableResult
    static func writeFile(_ path: String, _ pairs: [(String, String)], writer: TableFileWriter? = nil) throws
        -> TableFileWriter.Info {
        let w = try writer ?? TableFileWriter(path: path)
        for (k, v) in pairs { try w.add(k, v) }
        return try w.finish()
    }

    static func pairs(_ range: Range<Int>, _ tag: String) -> [(String, String)] {
        range.map { (String(format: "k%05d", $0), "\(tag)\($0)") }
    }

    /// The reason of the `.tableFileRefused` `body` throws (nil: none).
    static func refusal(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as DBError {
            if case .tableFileRefused(_, let reason) = error { return reason }
            return "other error: \(error)"
        } catch {
            return "other error: \(error)"
        }
    }

    static func tableNames(_ path: String) throws -> Set<String> {
        Set(try FileSystem.listDirectory(path).filter { $0.hasSuffix(".sst") || $0.hasSuffix(".tmp") })
    }

    @Test func writerRefusesKeysThatAreNotStrictlyIncreasing() throws {
        let dir = try TempDir()
        let w = try TableFileWriter(path: dir.sub("a.sst"))
        try w.add("b", "1")
        #expect(throws: DBError.self) { try w.add("a", "2") }
        #expect(throws: DBError.self) { try w.add("b", "3") }
        try w.add("c", "4")
        let info = try w.finish()
        #expect(info.entryCount == 2 && info.smallestKey == bytes("b") && info.largestKey == bytes("c"))
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.ingest([info.path])
        #expect(try db.get("a") as String? == nil)
        #expect(try db.get("b") == "1" && db.get("c") == "4")
        try db.close()
        // An empty writer writes nothing ingestible.
        let empty = try TableFileWriter(path: dir.sub("e.sst"))
        #expect(throws: DBError.self) { try empty.finish() }
    }

    @Test func ingestedValuesSupersedeTablesAndTheMemtableAndSurviveReopen() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        for (k, v) in Self.pairs(0..<100, "old") { try db.put(k, v) }
        try db.flush()
        // In the memtable only: the ingest must flush it first, or the
        // memtable's older value would keep answering.
        try db.put("k00050", "memtable")
        try db.put("z", "untouched")
        try Self.writeFile(dir.sub("f.sst"), Self.pairs(40..<60, "new"))
        try db.ingest([dir.sub("f.sst")])
        #expect(try db.get("k00039") == "old39" && db.get("k00040") == "new40" && db.get("k00050") == "new50")
        #expect(try db.get("k00059") == "new59" && db.get("k00060") == "old60" && db.get("z") == "untouched")
        // A write after the ingest supersedes it.
        try db.put("k00045", "after")
        #expect(try db.get("k00045") == "after")
        let scanned = try db.scan().map { (String(decoding: $0.key, as: UTF8.self), String(decoding: $0.value, as: UTF8.self)) }
        #expect(scanned.count == 101)
        #expect(scanned.first { $0.0 == "k00041" }?.1 == "new41")
        #expect(scanned.first { $0.0 == "k00045" }?.1 == "after")
        // multiGet and async get read the same.
        let many = try db.multiGet([bytes("k00039"), bytes("k00041"), bytes("k00050")])
        #expect(many == [bytes("old39"), bytes("new41"), bytes("new50")])
        try db.close()
        // The source file stays (no move); the database has its own link.
        #expect(FileSystem.exists(dir.sub("f.sst")))
        let again = try DB(path: path, options: openOptions())
        #expect(try again.get("k00050") == "new50" && again.get("k00045") == "after" && again.get("k00060") == "old60")
        // Writes after reopen take sequences above the ingest's.
        try again.put("k00041", "reopened")
        #expect(try again.get("k00041") == "reopened")
        // Compaction rewrites the ingested table with its sequence.
        try again.compactRange()
        #expect(try again.get("k00041") == "reopened" && again.get("k00042") == "new42" && again.get("k00060") == "old60")
        try again.close()
        let third = try DB(path: path, options: openOptions())
        #expect(try third.get("k00041") == "reopened" && third.get("k00042") == "new42")
        try third.close()
    }

    @Test func aSnapshotTakenBeforeTheIngestDoesNotSeeIt() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        for (k, v) in Self.pairs(0..<20, "old") { try db.put(k, v) }
        try db.flush()
        let before = db.snapshot()
        try Self.writeFile(dir.sub("f.sst"), Self.pairs(10..<30, "new"))
        try db.ingest([dir.sub("f.sst")])
        let old = ReadOptions(snapshot: before)
        #expect(try db.get("k00015", options: old) == bytes("old15"))
        #expect(try db.get("k00025", options: old) == nil)
        #expect(try db.multiGet([bytes("k00015"), bytes("k00025")], options: old) == [bytes("old15"), nil])
        var seen: [String: String] = [:]
        for entry in try db.scan(options: old) {
            seen[String(decoding: entry.key, as: UTF8.self)] = String(decoding: entry.value, as: UTF8.self)
        }
        #expect(seen.count == 20 && seen["k00015"] == "old15")
        // Backwards over the ingested table too.
        let it = try db.makeIterator(options: old)
        try it.seekToLast()
        #expect(it.isValid && String(decoding: it.key, as: UTF8.self) == "k00019")
        let now = try db.makeIterator()
        try now.seekToLast()
        #expect(now.isValid && String(decoding: now.key, as: UTF8.self) == "k00029")
        try now.seek(to: bytes("k00015"))
        #expect(now.isValid && String(decoding: now.value, as: UTF8.self) == "new15")
        try now.prev()
        #expect(now.isValid && String(decoding: now.key, as: UTF8.self) == "k00014"
                && String(decoding: now.value, as: UTF8.self) == "new14")
        #expect(try db.get("k00015") == "new15" && db.get("k00025") == "new25")
        // Compaction keeps the snapshot's view.
        try db.compactRange()
        #expect(try db.get("k00015", options: old) == bytes("old15") && db.get("k00015") == "new15")
        // seek(forPrev:) lands on the ingested key itself.
        try now.seek(forPrev: bytes("k00020"))
        #expect(now.isValid && String(decoding: now.value, as: UTF8.self) == "new20")
        let oldIt = try db.makeIterator(options: old)
        try oldIt.seek(forPrev: bytes("k00025"))
        #expect(oldIt.isValid && String(decoding: oldIt.key, as: UTF8.self) == "k00019")
        try db.close()
    }

    @Test func rangeDeletionsBeforeTheIngestDoNotHideItAndAfterDo() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        for (k, v) in Self.pairs(0..<10, "old") { try db.put(k, v) }
        try db.deleteRange(from: "k00000", to: "k00010")
        try db.flush()
        try Self.writeFile(dir.sub("f.sst"), Self.pairs(3..<6, "new"))
        try db.ingest([dir.sub("f.sst")])
        #expect(try db.get("k00004") == "new4" && db.get("k00002") as String? == nil)
        #expect(try db.scan().count == 3)
        try db.deleteRange(from: "k00004", to: "k00005")
        #expect(try db.get("k00004") as String? == nil && db.get("k00003") == "new3")
        try db.close()
    }

    @Test func aDamagedFileIsRefusedAndNothingChanges() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        try db.put("k00001", "old")
        try db.flush()
        let info = try Self.writeFile(dir.sub("f.sst"), Self.pairs(0..<2000, "new"))
        var data = try readWholeFile(info.path)
        data[100] ^= 0x5a  // inside the first data block
        try writeWholeFile(dir.sub("bad.sst"), data)
        try Self.writeFile(dir.sub("good.sst"), Self.pairs(5000..<5010, "good"))
        let tablesBefore = try Self.tableNames(path)
        #expect(throws: DBError.self) { try db.ingest([dir.sub("good.sst"), dir.sub("bad.sst")]) }
        #expect(throws: DBError.self) { try db.ingest([dir.sub("missing.sst")]) }
        // Damage in the second half (checked on the helper thread).
        var late = try readWholeFile(info.path)
        late[late.count * 6 / 10] ^= 0x5a
        try writeWholeFile(dir.sub("late.sst"), late)
        #expect(throws: DBError.self) { try db.ingest([dir.sub("late.sst")]) }
        try writeWholeFile(dir.sub("short.sst"), Array(data.prefix(1000)))
        #expect(throws: DBError.self) { try db.ingest([dir.sub("short.sst")]) }
        #expect(try Self.tableNames(path) == tablesBefore)
        #expect(try db.get("k00001") == "old" && db.get("k05000") as String? == nil)
        try db.close()
    }

    @Test func overlappingFilesAreRefusedDisjointOnesGoInTogether() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        try Self.writeFile(dir.sub("a.sst"), Self.pairs(0..<10, "a"))
        try Self.writeFile(dir.sub("b.sst"), Self.pairs(9..<20, "b"))
        try Self.writeFile(dir.sub("c.sst"), Self.pairs(20..<30, "c"))
        let tablesBefore = try Self.tableNames(path)
        let overlap = Self.refusal { try db.ingest([dir.sub("a.sst"), dir.sub("b.sst")]) }
        #expect(overlap?.contains("overlap") == true, "\(overlap ?? "not refused")")
        #expect(try Self.tableNames(path) == tablesBefore && db.get("k00005") as String? == nil)
        try db.ingest([dir.sub("c.sst"), dir.sub("a.sst")])
        #expect(try db.get("k00005") == "a5" && db.get("k00025") == "c25" && db.scan().count == 20)
        // Both at the deepest level: nothing overlapped them anywhere.
        let version = db.impl.versions.current
        #expect(version.files[Version.numLevels - 1].count == 2)
        #expect(version.files[Version.numLevels - 1].allSatisfy { $0.globalSequence != 0 })
        // One overlapping an L0 table goes to L0, above it.
        try db.put("k00012", "put")
        try db.flush()
        try db.ingest([dir.sub("b.sst")])
        let after = db.impl.versions.current
        #expect(after.files[0].count == 2 && after.files[0][0].globalSequence != 0)
        #expect(try db.get("k00012") == "b12" && db.get("k00009") == "b9" && db.get("k00008") == "a8")
        try db.close()
    }

    @Test func keyspaceIngestNeedsTheKeyspacesOptions() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        let users = try db.keyspace("users", options: KeyspaceOptions(prefixLength: 3))
        try Self.writeFile(dir.sub("plain.sst"), Self.pairs(0..<10, "p"))
        let mismatch = Self.refusal { try users.ingest([dir.sub("plain.sst")]) }
        #expect(mismatch?.contains("prefix length") == true, "\(mismatch ?? "not refused")")
        try Self.writeFile(dir.sub("u.sst"), Self.pairs(0..<10, "u"), writer: TableFileWriter(path: dir.sub("u.sst"), for: users))
        try users.ingest([dir.sub("u.sst")], options: IngestOptions(move: true))
        #expect(!FileSystem.exists(dir.sub("u.sst")))
        #expect(try users.get("k00003") == "u3" && db.get("k00003") as String? == nil)
        #expect(try users.scan(prefix: bytes("k00")).count == 10)
        try db.ingest([dir.sub("plain.sst")])
        #expect(try db.get("k00003") == "p3" && users.get("k00003") == "u3")
        try db.close()
        let again = try DB(path: path, options: openOptions())
        #expect(try again.existingKeyspace("users").get("k00009") == "u9" && again.get("k00009") == "p9")
        try again.close()
    }

    @Test func theAsyncFormsIngestAndReadRight() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        let snapshot = db.snapshot()
        try Self.writeFile(dir.sub("a.sst"), Self.pairs(0..<10, "a"))
        try await db.ingest([dir.sub("a.sst")])
        let ks = try await db.keyspace("ks")
        try Self.writeFile(dir.sub("b.sst"), Self.pairs(0..<10, "b"), writer: TableFileWriter(path: dir.sub("b.sst"), for: ks))
        try await ks.ingest([dir.sub("b.sst")])
        #expect(try await db.get(bytes("k00003")) == bytes("a3"))
        #expect(try await ks.get(bytes("k00003")) == bytes("b3"))
        #expect(try await db.get(bytes("k00003"), options: ReadOptions(snapshot: snapshot)) == nil)
        try await db.close()
    }

    @Test func theManifestRecordIsTag13AndAFormat5DatabaseOpens() throws {
        let backend: any IOBackend = PosixBackend()
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            for (k, v) in Self.pairs(0..<50, "v5") { try db.put(k, v) }
            try db.flush()
            try db.put("w", "wal")
            db.impl.abandonForCrashTest()
        }
        // Rewrite the MANIFEST as format 5 wrote it (the same records,
        // format version 5).
        let current = try CurrentFile.read(dbPath: path, backend: backend)
        let manifestPath = FileNames.manifest(path, current.number)
        let payloads = try LogReader(path: manifestPath, backend: backend).readAll(evidence: .everyRecord, strict: true).payloads
        var edits = try payloads.map { try VersionEdit.decode($0, path: manifestPath, payloadOffset: 0) }
        let number = edits[0].nextFileNumber ?? 100
        edits[0].formatVersion = 5
        edits[0].nextFileNumber = number + 1
        let log = try ManifestLog.create(dbPath: path, number: number, snapshot: edits, backend: backend)
        try log.close()
        var switched = false
        try CurrentFile.write(dbPath: path, manifestNumber: number, backend: backend, switched: &switched)
        try backend.removeFile(manifestPath)
        #expect(try ManifestReplay.run(path: FileNames.manifest(path, number), backend: backend, strict: true)
                    .formatVersion == 5)

        let db = try DB(path: path, options: openOptions())
        #expect(try db.get("k00007") == "v57" && db.get("w") == "wal")
        try Self.writeFile(dir.sub("f.sst"), Self.pairs(5..<10, "new"))
        try db.ingest([dir.sub("f.sst")])
        try db.close()
        let now = try CurrentFile.read(dbPath: path, backend: backend)
        let nowPath = FileNames.manifest(path, now.number)
        let replayed = try ManifestReplay.run(path: nowPath, backend: backend, strict: true)
        #expect(replayed.formatVersion == 6)
        let records = try LogReader(path: nowPath, backend: backend).readAll(evidence: .everyRecord, strict: true).payloads
        #expect(records.contains { $0.contains(13) })
        let ingested = try records.map { try VersionEdit.decode($0, path: nowPath, payloadOffset: 0) }
            .flatMap(\.newFiles).filter { $0.file.globalSequence != 0 }
        #expect(ingested.count == 1)
        if let f = ingested.first {
            #expect(f.file.smallestSequence == f.file.globalSequence && f.file.largestSequence == f.file.globalSequence)
            // Tag 13, then tag 7's fields, then the global sequence.
            var edit = VersionEdit()
            edit.addFile(level: f.level, f.file)
            let encoded = edit.encode()
            #expect(encoded.first == 13)
            #expect(try VersionEdit.decode(encoded, path: "x", payloadOffset: 0) == edit)
        }
        let again = try DB(path: path, options: openOptions())
        #expect(try again.get("k00007") == "new7" && again.get("k00003") == "v53" && again.get("w") == "wal")
        try again.close()
    }

    /// The example of docs/FORMAT.md §Ingested tables, byte for byte.
    @Test func theFormatMdExampleEncodesAsShown() throws {
        var edit = VersionEdit()
        edit.addFile(level: 6, FileMetaData(number: 12, fileSizeBytes: 8192, smallest: InternalKey.make(bytes("a"), 7, .value),
                                            largest: InternalKey.make(bytes("b"), 7, .value), smallestSequence: 7,
                                            largestSequence: 7, globalSequence: 7))
        let expected: [UInt8] = [0x0d, 0x06, 0x0c, 0x80, 0x40,
                                 0x09, 0x61, 0x01, 0x07, 0, 0, 0, 0, 0, 0,
                                 0x09, 0x62, 0x01, 0x07, 0, 0, 0, 0, 0, 0,
                                 0x07, 0x07, 0x07]
        #expect(edit.encode() == expected)
        #expect(try VersionEdit.decode(expected, path: "x", payloadOffset: 0) == edit)
    }

    @Test func tag13InAFormat5ManifestIsCorruption() throws {
        let backend: any IOBackend = PosixBackend()
        let dir = try TempDir()
        let path = dir.sub("db")
        try FileSystem.createDirectory(path)
        var global = VersionEdit()
        global.formatVersion = 5
        global.logNumber = 1
        global.nextFileNumber = 10
        global.lastSequence = 5
        var edit = VersionEdit()
        edit.addFile(level: 1, FileMetaData(number: 3, fileSizeBytes: 4096, smallest: InternalKey.make(bytes("a"), 5, .value),
                                            largest: InternalKey.make(bytes("b"), 5, .value), smallestSequence: 5,
                                            largestSequence: 5, globalSequence: 5))
        let log = try ManifestLog.create(dbPath: path, number: 2, snapshot: [global, edit], backend: backend)
        try log.close()
        #expect(throws: DBError.self) {
            _ = try ManifestReplay.run(path: FileNames.manifest(path, 2), backend: backend, strict: true)
        }
        // A global sequence that disagrees with the file's sequences.
        var bad = VersionEdit()
        bad.addFile(level: 1, FileMetaData(number: 3, fileSizeBytes: 4096, smallest: InternalKey.make(bytes("a"), 4, .value),
                                           largest: InternalKey.make(bytes("b"), 4, .value), smallestSequence: 4,
                                           largestSequence: 4, globalSequence: 5))
        #expect(throws: DBError.self) { _ = try VersionEdit.decode(bad.encode(), path: "x", payloadOffset: 0) }
    }
}
