/// One change to the set of live tables and to the counters the version set
/// persists, as logged in the MANIFEST (docs/FORMAT.md §MANIFEST).
///
/// Applying an edit removes `deletedFiles` first, then adds `newFiles`, so a
/// table can move between levels in one edit (delete at L, add at L+1).
package struct VersionEdit: Equatable, Sendable {
    /// A table named by level and number, the unit of deletion.
    struct DeletedFile: Hashable, Sendable, Comparable {
        var level: Int
        var number: UInt64

        static func < (a: DeletedFile, b: DeletedFile) -> Bool {
            (a.level, a.number) < (b.level, b.number)
        }
    }

    /// Set on the first edit of every MANIFEST (the snapshot edit); see
    /// `VersionEdit.currentFormatVersion`.
    var formatVersion: UInt64?
    /// WAL files numbered below this are fully reflected in tables.
    package var logNumber: UInt64?
    package var nextFileNumber: UInt64?
    package var lastSequence: SequenceNumber?
    /// Per level, the internal key where the next compaction of that level
    /// starts (round-robin through the key space).
    var compactPointers: [(level: Int, internalKey: [UInt8])] = []
    var deletedFiles: Set<DeletedFile> = []
    var newFiles: [(level: Int, file: FileMetaData)] = []

    // MARK: Keyspaces (tags 8–12, database format 5)

    /// The keyspace `compactPointers`, `deletedFiles` and `newFiles` belong
    /// to (tag 8; 0, the default keyspace, is not written).
    var keyspaceId: UInt32 = 0
    /// Keyspaces created — or, for an id already live under the same name,
    /// whose stored options change (tag 9).
    var createdKeyspaces: [KeyspaceRecord] = []
    /// Keyspaces dropped (tag 10).
    var droppedKeyspaces: [UInt32] = []
    /// The largest keyspace id ever handed out (tag 11): ids are never
    /// reused, so a WAL operation for an id above it is damage.
    var maxKeyspaceId: UInt32?
    /// Per keyspace: WAL files numbered below this hold nothing of the
    /// keyspace that is not in its tables (tag 12).
    var keyspaceLogNumbers: [(id: UInt32, logNumber: UInt64)] = []
    /// How many records the MANIFEST's snapshot takes, this one included
    /// (tag 14, only in the first record): replay that applies fewer lost
    /// part of the snapshot, which is corruption, never a torn tail.
    var snapshotRecordCount: UInt64?

    /// A keyspace's identity and stored options, as a create record holds them.
    struct KeyspaceRecord: Equatable, Sendable {
        var id: UInt32
        var name: String
        var options: KeyspaceOptions
        /// The database's merge operator (`MergeOperator.name`), stored in
        /// the default keyspace's record only; nil until a writing open
        /// with an operator (Merge/MergeOperatorName.swift).
        var mergeOperatorName: String? = nil
    }

    init() {}

    mutating func addFile(level: Int, _ file: FileMetaData) { newFiles.append((level, file)) }

    mutating func deleteFile(level: Int, number: UInt64) {
        deletedFiles.insert(DeletedFile(level: level, number: number))
    }

    mutating func setCompactPointer(level: Int, internalKey: [UInt8]) {
        compactPointers.append((level, internalKey))
    }

    package static func == (a: VersionEdit, b: VersionEdit) -> Bool {
        a.formatVersion == b.formatVersion && a.logNumber == b.logNumber
            && a.nextFileNumber == b.nextFileNumber && a.lastSequence == b.lastSequence
            && a.compactPointers.elementsEqual(b.compactPointers, by: { $0.level == $1.level && $0.internalKey == $1.internalKey })
            && a.deletedFiles == b.deletedFiles
            && a.newFiles.elementsEqual(b.newFiles, by: { $0.level == $1.level && $0.file == $1.file })
            && a.keyspaceId == b.keyspaceId && a.createdKeyspaces == b.createdKeyspaces
            && a.droppedKeyspaces == b.droppedKeyspaces && a.maxKeyspaceId == b.maxKeyspaceId
            && a.keyspaceLogNumbers.elementsEqual(b.keyspaceLogNumbers, by: { $0 == $1 })
            && a.snapshotRecordCount == b.snapshotRecordCount
    }

    /// True when the edit changes tables or compact pointers (of `keyspaceId`).
    var changesFiles: Bool { !compactPointers.isEmpty || !deletedFiles.isEmpty || !newFiles.isEmpty }
}

// MARK: - Encoding (docs/FORMAT.md §MANIFEST, version edit payload)

extension VersionEdit {
    /// The database format this build writes and the newest it reads
    /// (docs/FORMAT.md §Format version). 2: the WAL files may hold
    /// sync-point records (record type 2), which a version-1 reader would
    /// take for damage; the edit encoding is the same as in 1. 3: WAL
    /// batches may hold range deletions (operation type 2) and tables may
    /// have a range deletion block (table format version 2), which a
    /// version-2 reader would refuse mid-replay or, worse, a table at a
    /// time; it refuses the whole database at open instead. 4: tables may
    /// carry a blocked bloom filter (`BloomFilter`, last byte 0x80), which
    /// a version-3 reader would take for a damaged filter; tables written
    /// before keep their legacy filter and are read as before. 5:
    /// keyspaces — MANIFEST tags 8–12 and 14 (the snapshot's record
    /// count) and WAL operation types 4–6 (docs/FORMAT.md §Keyspaces,
    /// §Snapshot edit), which a version-4 reader would refuse
    /// mid-replay; a version-4 database opens as the "default" keyspace.
    /// 6: MANIFEST tag 13 (an ingested table and its global sequence,
    /// docs/FORMAT.md §Ingested tables) and merge operands — WAL operation
    /// types 3 and 7 and the internal value type 3 (docs/FORMAT.md §Merge
    /// operands) — which a version-5 reader would refuse as an unknown tag,
    /// mid-replay, or as corruption in a table; a version-5 database opens
    /// as is.
    static let currentFormatVersion: UInt64 = 6

    /// Field tags. Each field is `varint tag` then the field's bytes; 0 and
    /// unknown tags are corruption (so zero fill never parses as an edit).
    enum Tag: UInt64 {
        case formatVersion = 1
        case logNumber = 2
        case nextFileNumber = 3
        case lastSequence = 4
        case compactPointer = 5
        case deletedFile = 6
        case newFile = 7
        case keyspace = 8
        case createKeyspace = 9
        case dropKeyspace = 10
        case maxKeyspaceId = 11
        case keyspaceLogNumber = 12
        /// A new file with a global sequence (ingest): tag 7's fields,
        /// then varint globalSequence (format 6).
        case newIngestedFile = 13
        case snapshotRecordCount = 14
    }

    /// The payload of one MANIFEST record. Fields appear in tag order;
    /// deleted files sorted by (level, number), so equal edits encode to
    /// equal bytes.
    package func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + newFiles.count * 64)
        if let formatVersion { w.appendVarint(Tag.formatVersion.rawValue); w.appendVarint(formatVersion) }
        if let logNumber { w.appendVarint(Tag.logNumber.rawValue); w.appendVarint(logNumber) }
        if let nextFileNumber { w.appendVarint(Tag.nextFileNumber.rawValue); w.appendVarint(nextFileNumber) }
        if let lastSequence { w.appendVarint(Tag.lastSequence.rawValue); w.appendVarint(lastSequence) }
        for (level, key) in compactPointers {
            w.appendVarint(Tag.compactPointer.rawValue)
            w.appendVarint(level)
            w.appendLengthPrefixed(key)
        }
        for deleted in deletedFiles.sorted() {
            w.appendVarint(Tag.deletedFile.rawValue)
            w.appendVarint(deleted.level)
            w.appendVarint(deleted.number)
        }
        for (level, f) in newFiles {
            w.appendVarint(f.globalSequence == 0 ? Tag.newFile.rawValue : Tag.newIngestedFile.rawValue)
            w.appendVarint(level)
            w.appendVarint(f.number)
            w.appendVarint(f.fileSizeBytes)
            w.appendLengthPrefixed(f.smallest)
            w.appendLengthPrefixed(f.largest)
            w.appendVarint(f.smallestSequence)
            w.appendVarint(f.largestSequence)
            if f.globalSequence != 0 { w.appendVarint(f.globalSequence) }
        }
        encodeKeyspaceFields(into: &w)
        if let snapshotRecordCount {
            w.appendVarint(Tag.snapshotRecordCount.rawValue)
            w.appendVarint(snapshotRecordCount)
        }
        return w.bytes
    }

    /// Decodes a record payload; any malformed byte throws
    /// `DBError.corruption` naming `path` and the absolute file offset
    /// (`payloadOffset` is where the payload starts in the file).
    package static func decode(_ payload: [UInt8], path: String, payloadOffset: UInt64) throws -> VersionEdit {
        do {
            return try payload.withUnsafeBytes { raw throws(DecodeError) in try decode(raw) }
        } catch let error as DecodeError {
            throw DBError.corruption(path: path, offset: payloadOffset + UInt64(error.offset),
                                     reason: "version edit: \(error.reason)")
        } catch {
            throw error
        }
    }

    /// Decodes a record payload, checking every length, level and key
    /// against the bytes actually present.
    package static func decode(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> VersionEdit {
        var r = ByteReader(raw)
        var edit = VersionEdit()
        while !r.isAtEnd {
            let tagOffset = r.position
            let rawTag = try r.readVarint64()
            guard let tag = Tag(rawValue: rawTag) else {
                throw DecodeError(reason: "unknown tag \(rawTag)", offset: tagOffset)
            }
            switch tag {
            case .formatVersion:
                try setOnce(&edit.formatVersion, try r.readVarint64(), tag, tagOffset)
            case .logNumber:
                try setOnce(&edit.logNumber, try r.readVarint64(), tag, tagOffset)
            case .nextFileNumber:
                try setOnce(&edit.nextFileNumber, try r.readVarint64(), tag, tagOffset)
            case .lastSequence:
                let seq = try r.readVarint64()
                guard seq <= InternalKey.maxSequenceNumber else {
                    throw DecodeError(reason: "last sequence \(seq) exceeds 56 bits", offset: tagOffset)
                }
                try setOnce(&edit.lastSequence, seq, tag, tagOffset)
            case .compactPointer:
                let level = try readLevel(&r)
                let key = try readInternalKey(&r, what: "compact pointer")
                edit.compactPointers.append((level, key))
            case .deletedFile:
                let level = try readLevel(&r)
                let number = try r.readVarint64()
                let (inserted, _) = edit.deletedFiles.insert(DeletedFile(level: level, number: number))
                guard inserted else {
                    throw DecodeError(reason: "file \(number) at level \(level) deleted twice", offset: tagOffset)
                }
            case .newFile, .newIngestedFile:
                let level = try readLevel(&r)
                let number = try r.readVarint64()
                let size = try r.readVarint64()
                guard size <= FileMetaData.maxFileSizeBytes else {
                    throw DecodeError(reason: "file \(number): size \(size) is past the 1 TiB limit", offset: tagOffset)
                }
                let smallest = try readInternalKey(&r, what: "smallest key")
                let largest = try readInternalKey(&r, what: "largest key")
                let smallestSeq = try r.readVarint64()
                let largestSeq = try r.readVarint64()
                let order = smallest.withUnsafeBytes { s in largest.withUnsafeBytes { l in InternalKey.compare(s, l) } }
                guard order <= 0 else {
                    throw DecodeError(reason: "file \(number): smallest key sorts after largest key", offset: tagOffset)
                }
                guard smallestSeq <= largestSeq, largestSeq <= InternalKey.maxSequenceNumber else {
                    throw DecodeError(reason: "file \(number): bad sequence range \(smallestSeq)...\(largestSeq)",
                                      offset: tagOffset)
                }
                var globalSeq: SequenceNumber = 0
                if tag == .newIngestedFile {
                    globalSeq = try r.readVarint64()
                    // Every entry of an ingested table takes this one
                    // sequence, so its bounds carry it too.
                    guard globalSeq != 0, globalSeq == smallestSeq, globalSeq == largestSeq else {
                        throw DecodeError(reason: "file \(number): global sequence \(globalSeq) does not match its "
                                          + "sequence range \(smallestSeq)...\(largestSeq)", offset: tagOffset)
                    }
                }
                edit.newFiles.append((level, FileMetaData(
                    number: number, fileSizeBytes: size, smallest: smallest, largest: largest,
                    smallestSequence: smallestSeq, largestSequence: largestSeq, globalSequence: globalSeq)))
            case .keyspace, .createKeyspace, .dropKeyspace, .maxKeyspaceId, .keyspaceLogNumber:
                try decodeKeyspaceField(tag, at: tagOffset, from: &r, into: &edit)
            case .snapshotRecordCount:
                let count = try r.readVarint64()
                guard count >= 1 else {
                    throw DecodeError(reason: "snapshot record count 0 (the global record is one)", offset: tagOffset)
                }
                try setOnce(&edit.snapshotRecordCount, count, tag, tagOffset)
            }
        }
        return edit
    }

    private static func setOnce(_ field: inout UInt64?, _ value: UInt64, _ tag: Tag, _ offset: Int) throws(DecodeError) {
        guard field == nil else { throw DecodeError(reason: "field \(tag) appears twice", offset: offset) }
        field = value
    }

    private static func readLevel(_ r: inout ByteReader) throws(DecodeError) -> Int {
        let start = r.position
        let level = try r.readVarint64()
        guard level < UInt64(Version.numLevels) else {
            throw DecodeError(reason: "level \(level) out of range 0..<\(Version.numLevels)", offset: start)
        }
        return Int(level)
    }

    private static func readInternalKey(_ r: inout ByteReader, what: String) throws(DecodeError) -> [UInt8] {
        let start = r.position
        let bytes = try r.readLengthPrefixed()
        guard bytes.count >= InternalKey.trailerSize else {
            throw DecodeError(reason: "\(what) is \(bytes.count) bytes, shorter than an internal key", offset: start)
        }
        return Array(bytes)
    }
}
