import Glibc
import RingIO
import Testing
@testable import RingKV

/// Defects a review of the keyspace branch found (fc00a5f): each test
/// failed on the code before its fix.
@Suite struct KeyspaceReviewTests {
    let backend: any IOBackend = PosixBackend()

    func currentManifest(_ path: String) throws -> String {
        FileNames.manifest(path, try CurrentFile.read(dbPath: path, backend: backend).number)
    }

    /// The snapshot of a MANIFEST is [global, default, ks1, ks2]; a damaged
    /// last record used to pass for a torn tail and be dropped, so the open
    /// forgot ks2 and swept its tables. The global record now carries the
    /// snapshot's record count (tag 14): fewer is corruption in every mode.
    @Test(arguments: [true, false])
    func aDamagedLastSnapshotRecordRefusesTheOpen(strict: Bool) throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            for name in ["ks1", "ks2"] {
                let ks = try db.keyspace(name)
                for i in 0..<100 { try ks.put("\(name)-\(i)", "value \(i)") }
                try ks.flush()
            }
            try db.close()
        }
        // Reopen: the new MANIFEST holds the snapshot alone.
        try DB(path: path, options: openOptions()).close()
        let manifest = try currentManifest(path)
        let offsets = try VersionFixtures.recordOffsets(manifest)
        #expect(offsets.count == 4)
        let tables = try KeyspaceTests.tableFiles(path)
        #expect(tables.count >= 2)
        var bytes = try VersionFixtures.readFile(manifest)
        // The global record ends with tag 14, 4 (docs/FORMAT.md §Snapshot edit).
        #expect(Array(bytes[offsets[1] - 2 ..< offsets[1]]) == [0x0e, 0x04])
        let last = try #require(offsets.last)
        bytes[last + LogRecord.headerSize + 1] ^= 0x5A
        try VersionFixtures.writeFile(manifest, bytes)

        var options = openOptions()
        options.paranoidChecks = strict
        let error = try #require(throws: DBError.self) { try DB(path: path, options: options) }
        let details = try #require(corruptionDetails(error), "\(error)")
        #expect(details.path == manifest, "\(details)")
        #expect(details.reason.contains("snapshot"), "\(details.reason)")
        #expect(try KeyspaceTests.tableFiles(path).isSuperset(of: tables))
    }
}

extension KeyspaceReviewTests {
    /// `KeyspaceOptions.validate` and the stored blob's decoder agree: a
    /// value at the limit is stored and reopens, one just over it is refused
    /// at creation and nothing is written (before, validate took any size
    /// and any bloom bits, and the database then never opened again).
    @Test func keyspaceOptionLimitsAgreeWithTheStoredEncoding() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        // KeyspaceOptions.maxMemtableSizeBytes and .maxBloomBitsPerKey, as
        // docs/KEYSPACES.md gives them.
        let maxMemtableSizeBytes = Int(Int32.max) * 4, maxBloomBitsPerKey = 1 << 16
        let atLimit = KeyspaceOptions(memtableSizeBytes: maxMemtableSizeBytes, bloomBitsPerKey: maxBloomBitsPerKey)
        do {
            let db = try DB(path: path, options: openOptions())
            _ = try db.keyspace("limits", options: atLimit)
            let manifest = try currentManifest(path)
            let sizeBefore = try VersionFixtures.readFile(manifest).count
            let over: [(String, KeyspaceOptions)] = [
                ("KeyspaceOptions.memtableSizeBytes",
                 KeyspaceOptions(memtableSizeBytes: maxMemtableSizeBytes + 1)),
                ("KeyspaceOptions.bloomBitsPerKey",
                 KeyspaceOptions(bloomBitsPerKey: maxBloomBitsPerKey + 1)),
            ]
            for (field, options) in over {
                let error = try #require(throws: DBError.self) { try db.keyspace("over", options: options) }
                guard case .invalidOption(let name, _, _) = error else {
                    Issue.record("expected invalidOption, got \(error)")
                    continue
                }
                #expect(name == field)
                // Not for an existing keyspace either.
                #expect(throws: DBError.self) { try db.keyspace("limits", options: options) }
            }
            #expect(db.keyspaceNames() == ["default", "limits"])
            #expect(try VersionFixtures.readFile(manifest).count == sizeBefore)
            try db.close()
        }
        let db = try DB(path: path, options: openOptions())
        #expect(db.keyspaceNames() == ["default", "limits"])
        #expect(try db.existingKeyspace("limits").data.storedOptions == atLimit)
        try db.close()
    }

    /// A stored TTL (bit 5 of the options blob) is not implemented: a
    /// MANIFEST carrying one is refused, not opened serving data that
    /// should have expired.
    @Test func aStoredTTLRefusesTheOpen() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            try db.keyspace("ks").put("k", "v")
            try db.close()
        }
        // Append a record storing options with a TTL for keyspace 1.
        let manifest = try currentManifest(path)
        var edit = VersionEdit()
        edit.createdKeyspaces = [.init(id: 1, name: "ks", options: KeyspaceOptions(ttl: .seconds(1)))]
        var bytes = try VersionFixtures.readFile(manifest)
        var w = ByteWriter()
        edit.encode().withUnsafeBytes { LogRecord.encode($0, into: &w) }
        bytes += w.bytes
        try VersionFixtures.writeFile(manifest, bytes)
        for strict in [true, false] {
            var options = openOptions()
            options.paranoidChecks = strict
            let error = try #require(throws: DBError.self) { try DB(path: path, options: options) }
            let details = try #require(corruptionDetails(error), "\(error)")
            #expect(details.reason.contains("ttl"), "\(details.reason)")
        }
    }
}
