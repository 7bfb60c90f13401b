import RingIO
import Testing
@testable import RingKV

/// The keyspace parts of the on-disk format (docs/FORMAT.md §Keyspace
/// records): a database of the previous format (4) opens with its data in
/// "default", and damage to the new fields is refused with a clear error.
@Suite struct KeyspaceFormatTests {
    let backend: any IOBackend = PosixBackend()

    /// Rewrites the database at `path` (closed) as format 4 wrote it: one
    /// snapshot record, tags 1–7 only, and a CURRENT naming it. The WAL
    /// needs no rewrite: a batch of the default keyspace alone encodes as
    /// before keyspaces.
    func rewriteAsFormat4(_ path: String, appending later: [VersionEdit] = []) throws -> UInt64 {
        let current = try CurrentFile.read(dbPath: path, backend: backend)
        let replayed = try ManifestReplay.run(path: FileNames.manifest(path, current.number), backend: backend,
                                              strict: true)
        #expect(replayed.keyspaceVersions.map(\.name) == ["default"])
        let number = replayed.nextFileNumber
        var edit = VersionEdit()
        edit.formatVersion = 4
        edit.logNumber = replayed.logNumber
        edit.nextFileNumber = number + 1
        edit.lastSequence = replayed.lastSequence
        for (level, pointer) in replayed.compactPointers.enumerated() {
            if let pointer { edit.setCompactPointer(level: level, internalKey: pointer) }
        }
        for level in 0..<Version.numLevels {
            for f in level == 0 ? replayed.version.files[0].reversed() : replayed.version.files[level] {
                edit.addFile(level: level, f)
            }
        }
        #expect(!edit.hasKeyspaceFields)
        let log = try ManifestLog.create(dbPath: path, number: number, snapshot: [edit] + later, backend: backend)
        try log.close()
        var switched = false
        try CurrentFile.write(dbPath: path, manifestNumber: number, backend: backend, switched: &switched)
        try backend.removeFile(FileNames.manifest(path, current.number))
        return number
    }

    @Test func aFormat4DatabaseOpensWithItsDataInDefault() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            for i in 0..<200 { try db.put("t\(i)", "table \(i)") }
            try db.flush()
            for i in 0..<50 { try db.put("w\(i)", "wal \(i)") }
            try db.deleteRange(from: "t1", to: "t2")  // t1, t10…t19, t100…t199
            // The process dies: the last writes are only in the WAL.
            db.impl.abandonForCrashTest()
        }
        let manifest = try rewriteAsFormat4(path)
        let old = try ManifestReplay.run(path: FileNames.manifest(path, manifest), backend: backend, strict: true)
        #expect(old.formatVersion == 4 && old.recordCount == 1)

        let db = try DB(path: path, options: openOptions())
        #expect(db.keyspaceNames() == ["default"])
        #expect(try db.get("t5") == "table 5" && db.get("w49") == "wal 49")
        #expect(try db.get("t1") as String? == nil && db.get("t10") as String? == nil)
        #expect(try db.scan().count == 200 - 111 + 50)
        // The writing open rewrote the MANIFEST in the current format.
        let current = try CurrentFile.read(dbPath: path, backend: backend)
        let now = try ManifestReplay.run(path: FileNames.manifest(path, current.number), backend: backend,
                                         strict: true)
        #expect(now.formatVersion == VersionEdit.currentFormatVersion)
        // And the database takes keyspaces from then on.
        let ks = try db.keyspace("new")
        try ks.put("k", "v")
        try db.close()
        let again = try DB(path: path, options: openOptions())
        #expect(again.keyspaceNames() == ["default", "new"])
        #expect(try again.existingKeyspace("new").get("k") == "v" && again.get("t5") == "table 5")
        try again.close()
    }

    /// The byte examples of docs/FORMAT.md §Keyspaces, §Keyspace options
    /// and §WAL payload.
    @Test func encodingsAreTheOnesFormatMdGives() throws {
        var edit = VersionEdit()
        edit.createdKeyspaces = [.init(id: 1, name: "users", options: KeyspaceOptions())]
        edit.maxKeyspaceId = 1
        edit.keyspaceLogNumbers = [(1, 7)]
        #expect(edit.encode() == [0x09, 0x01, 0x05, 0x75, 0x73, 0x65, 0x72, 0x73, 0x02, 0x01, 0x00,
                                  0x0b, 0x01, 0x0c, 0x01, 0x07])
        #expect(KeyspaceOptionsEncoding.encode(KeyspaceOptions(blockSizeBytes: 4096, compression: false))
                == [0x01, 0x06, 0x80, 0x20, 0x00])
        let decoded = try edit.encode().withUnsafeBytes { try VersionEdit.decode($0) }
        #expect(decoded.createdKeyspaces.first?.name == "users" && decoded.maxKeyspaceId == 1)

        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let third = try (1...3).map { try db.keyspace("ks\($0)") }[2]
        var batch = WriteBatch()
        batch.put("k", "v", in: third)
        #expect(Array(batch.encoded(sequence: 1).dropFirst(WriteBatch.headerSize)) == [0x04, 0x03, 0x01, 0x6b, 0x01, 0x76])
        var inDefault = WriteBatch()
        inDefault.put("k", "v", in: try db.keyspace("default"))
        #expect(Array(inDefault.encoded(sequence: 1).dropFirst(WriteBatch.headerSize)) == [0x01, 0x01, 0x6b, 0x01, 0x76])
        try db.close()
    }

    @Test func keyspaceFieldsInAFormat4ManifestAreCorruption() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try DB(path: path, options: openOptions()).close()
        var create = VersionEdit()
        create.createdKeyspaces = [.init(id: 1, name: "late", options: KeyspaceOptions())]
        create.maxKeyspaceId = 1
        _ = try rewriteAsFormat4(path, appending: [create])
        let error = try #require(throws: DBError.self) { try DB(path: path, options: openOptions()) }
        guard case .corruption(_, _, let reason) = error else {
            Issue.record("expected corruption, got \(error)")
            return
        }
        #expect(reason.contains("keyspace fields"), "\(reason)")
    }

    /// A WAL operation for a keyspace id the MANIFEST never handed out is
    /// damage, not something to skip; one for a dropped keyspace is skipped.
    @Test func walOperationsForUnknownKeyspaceIdsAreCorruption() throws {
        var batch = WriteBatch()
        batch.put("a", "1")
        let rep = batch.encoded(sequence: 10)
        // Rewrite the put as a put in keyspace 7: 04 ++ varint 7 ++ key ++ value.
        var inKeyspace = Array(rep.prefix(WriteBatch.headerSize))
        inKeyspace += [4, 7] + rep.dropFirst(WriteBatch.headerSize + 1)
        let memtable = MemTable()
        try inKeyspace.withUnsafeBytes { raw in
            var seen: [UInt32] = []
            try WriteBatch.forEach(raw) { id, _, _, _ in seen.append(id) }
            #expect(seen == [7])
            #expect(throws: DBError.self) {
                try MemTableInserter.applyRecovered(raw, path: "wal", after: 0, maxKeyspaceId: 6) { _ in memtable }
            }
            // Keyspace 7 exists (max id 7) but was dropped: skipped.
            let last = try MemTableInserter.applyRecovered(raw, path: "wal", after: 0, maxKeyspaceId: 7) { _ in nil }
            #expect(last == 10)
        }
        #expect(memtable.entryCount == 0)
    }
}
