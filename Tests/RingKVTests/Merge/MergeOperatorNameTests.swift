import RingIO
import Testing
@testable import RingKV

/// The merge operator's name is stored in the MANIFEST (the default
/// keyspace's options blob, extension tag 1): an open with an operator of
/// another name is refused, naming both, before anything is merged.
/// Before, a database written with one operator opened with another
/// (kvctl's CounterMerge, say) and compaction combined its operands into
/// wrong values.
@Suite struct MergeOperatorNameTests {
    /// Concatenates operands; its operands are no Int64s.
    struct Concat: MergeOperator {
        var name: String { "Concat" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws -> [UInt8] {
            operands.reduce(existing ?? []) { $0 + $1 }
        }
    }

    static func options(_ merge: (any MergeOperator)?) -> Options {
        var options = openOptions()
        options.mergeOperator = merge
        return options
    }

    static func writeWithConcat(_ path: String) throws {
        let db = try DB(path: path, options: options(Concat()))
        for part in ["abcdefgh", "ijklmnop"] { try db.merge(bytes("k"), bytes(part)) }
        try db.flush()
        try db.merge(bytes("k"), bytes("q"))
        try db.close()
    }

    static func storedName(_ path: String) throws -> String? {
        let backend: any IOBackend = PosixBackend()
        let current = try CurrentFile.read(dbPath: path, backend: backend)
        let replayed = try ManifestReplay.run(path: FileNames.manifest(path, current.number), backend: backend,
                                              strict: true)
        return replayed.catalog[0]?.record.mergeOperatorName
    }

    @Test func anOpenWithAnotherOperatorIsRefusedNamingBoth() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try Self.writeWithConcat(path)
        #expect(try Self.storedName(path) == "Concat")
        let error = try #require(throws: DBError.self) { try DB(path: path, options: Self.options(CounterMerge())) }
        guard case .invalidOption(let name, let value, let allowed) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(name == "mergeOperator" && value.contains("CounterMerge") && allowed.contains("Concat"), "\(error)")
        var readOnly = Self.options(CounterMerge())
        readOnly.readOnly = true
        #expect(throws: DBError.self) { try DB(path: path, options: readOnly) }

        // Without an operator it opens; a merged key's read says why not.
        let bare = try DB(path: path, options: Self.options(nil))
        #expect(throws: DBError.mergeOperatorMissing(key: bytes("k"))) { try bare.get(bytes("k")) }
        try bare.compactRange(from: nil as [UInt8]?, to: nil)
        try bare.close()
        #expect(try Self.storedName(path) == "Concat", "an open without an operator keeps the name")

        let db = try DB(path: path, options: Self.options(Concat()))
        try db.compactRange(from: nil as [UInt8]?, to: nil)
        #expect(try db.get(bytes("k")) == bytes("abcdefghijklmnopq"))
        try db.close()
    }

    /// A database whose MANIFEST stores no name (written before names
    /// were stored) opens with any operator and then stores its name.
    @Test func aDatabaseWithoutAStoredNameOpensAndIsThenRecorded() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try Self.writeWithConcat(path)
        // Rewrite the MANIFEST as earlier builds wrote it: no extension.
        let backend: any IOBackend = PosixBackend()
        try VersionFixtures.rewriteManifest(dbPath: path, backend: backend) { edits in
            for i in edits.indices {
                for j in edits[i].createdKeyspaces.indices { edits[i].createdKeyspaces[j].mergeOperatorName = nil }
            }
        }
        #expect(try Self.storedName(path) == nil)

        let db = try DB(path: path, options: Self.options(Concat()))
        #expect(try db.get(bytes("k")) == bytes("abcdefghijklmnopq"))
        try db.close()
        #expect(try Self.storedName(path) == "Concat")
        #expect(throws: DBError.self) { try DB(path: path, options: Self.options(CounterMerge())) }
    }

    /// A name too long to store is refused at open, nothing created.
    @Test func aNameLongerThan255BytesIsRefused() throws {
        struct LongName: MergeOperator {
            var name: String { String(repeating: "n", count: 256) }
            func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws -> [UInt8] { [] }
        }
        let dir = try TempDir()
        #expect { try DB(path: dir.sub("db"), options: Self.options(LongName())) } throws: { error in
            guard case DBError.invalidOption(let name, _, _) = error else { return false }
            return name == "mergeOperator"
        }
        #expect(!FileSystem.exists(dir.sub("db") + "/CURRENT"))
    }

    /// The blob's bytes (docs/FORMAT.md §Keyspace options), and an
    /// extension of a later build skipped.
    @Test func theNameIsAnExtensionAfterTheOptionFields() throws {
        let blob = KeyspaceOptionsEncoding.encode(KeyspaceOptions(), mergeOperatorName: "Concat")
        let expected: [UInt8] = [0x01, 0x00, 0x01, 0x06, 0x43, 0x6f, 0x6e, 0x63, 0x61, 0x74]
        #expect(blob == expected)
        var later = blob
        later.append(contentsOf: [0x02, 0x02, 0xff, 0xff] as [UInt8])
        #expect(try Self.decode(later).mergeOperatorName == "Concat")
        #expect(try Self.decode(later).options == KeyspaceOptions())
        let bare: [UInt8] = [0x01, 0x00]
        #expect(try Self.decode(bare).mergeOperatorName == nil)
    }

    static func decode(_ blob: [UInt8]) throws -> (options: KeyspaceOptions, mergeOperatorName: String?) {
        var result: (options: KeyspaceOptions, mergeOperatorName: String?)?
        var failure: (any Error)?
        blob.withUnsafeBytes { raw in
            do { result = try KeyspaceOptionsEncoding.decodeRecord(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        return try #require(result)
    }
}
