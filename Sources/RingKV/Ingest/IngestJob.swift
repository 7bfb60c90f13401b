import RingIO
import Synchronization

/// One `DB.ingest` call (docs/INGEST.md): table files written by
/// `TableFileWriter` become tables of a keyspace, all in one MANIFEST edit.
///
/// Data flows in three steps:
/// 1. Check (`IngestJob.check`, no lock): each file is opened and read
///    whole — footer, meta blocks and every data block's CRC, keys
///    strictly increasing, every entry a value at sequence 0, the entry
///    count the properties state, no range deletions, a prefix filter
///    of the keyspace's prefix length — and the files must not overlap
///    each other. Anything wrong refuses the whole call; nothing changed.
///    A file this process's `TableFileWriter` finished and nobody changed
///    since (`WrittenTables`) has its footer, index and meta blocks read
///    and checked against what the writer recorded, not its data blocks.
/// 2. Stage (`DBImpl.stageIngest`): each file is hard-linked (copied
///    across filesystems) into the database directory as `NNNNNN.tmp`,
///    fsynced, and the directory synced. A crash leaves only temp files,
///    which the next open removes.
/// 3. Commit (`DBImpl.commitIngestLocked`, as a leader-only request of the
///    writer queue while no compaction runs): with no write in flight
///    and none admitted until it ends, and the memtables holding nothing
///    of the files' ranges (else the caller flushes and tries again), it
///    picks each file's level — the deepest one such that it and every
///    level above hold nothing of the file's range — takes one sequence
///    above every published one (the global sequence), renames the temp
///    files to table names, and logs one edit adding them all with it
///    (MANIFEST tag 13). That edit is the commit point; then the sequence
///    is published, so a snapshot taken before never sees the files.
final class IngestJob {
    /// A checked input file.
    struct Input {
        var sourcePath: String
        var smallestUserKey: [UInt8]
        var largestUserKey: [UInt8]
        var entryCount: UInt64
        var fileSizeBytes: UInt64
        /// The temp name it is staged under (set by staging).
        var tempNumber: UInt64 = 0
        /// Its table number (set by the commit).
        var tableNumber: UInt64 = 0
        var level = 0
    }

    let keyspace: KeyspaceData
    /// Sorted by smallest key, not overlapping.
    var inputs: [Input]
    /// Set by the leader when a memtable holds something of an input's
    /// range: nothing was committed, flush and try again.
    var needsFlush = false
    /// Set once the edit is logged (or may be: a failed MANIFEST write).
    var committed = false
    /// Set when logging the edit failed with an I/O error: it may be on
    /// disk after all, so its tables stay (pending) until reopen.
    var mayBeLogged = false
    var globalSequence: SequenceNumber = 0

    init(keyspace: KeyspaceData, inputs: [Input]) {
        self.keyspace = keyspace
        self.inputs = inputs
    }

    // MARK: - Checking

    /// Reads `path` whole and checks it can be ingested into a keyspace
    /// whose tables have a prefix filter of `prefixLength` (nil: none).
    static func check(_ path: String, prefixLength: Int?, backend: any IOBackend) throws(DBError) -> Input {
        func refuse(_ reason: String) -> DBError { .tableFileRefused(path: path, reason: reason) }
        let file = try ioCall(path) { () throws(IOError) in try backend.openFile(path, .read, direct: .off) }
        defer { try? file.close() }
        let reader = try TableReader.open(file: file, fileNumber: 0, backend: backend)
        let p = reader.properties
        guard p.entryCount > 0 else { throw refuse("it holds no entry") }
        guard reader.fileSizeBytes <= FileMetaData.maxFileSizeBytes else {
            throw refuse("it is larger than a table may be (1 TiB)")
        }
        guard p.rangeDeletionCount == 0, reader.rangeTombstoneList.isEmpty else {
            throw refuse("it holds range deletions (TableFileWriter never writes them)")
        }
        guard p.deletionCount == 0, p.largestSequence == 0 else {
            throw refuse("it holds entries other than values at sequence 0 (not written by TableFileWriter?)")
        }
        let tablePrefix = p.prefixFilterHandle == nil ? nil : p.prefixLength
        guard tablePrefix == prefixLength else {
            throw refuse("written with prefix length \(tablePrefix.map(String.init) ?? "none"), the keyspace has "
                         + "\(prefixLength.map(String.init) ?? "none") (use TableFileWriter(path:for:))")
        }
        if let written = WrittenTables.take(path: path) {
            // This process's TableFileWriter wrote every block of this very
            // file and it has not changed since (WrittenTables): its checks
            // stand, and every later read still checks each block's CRC.
            guard written.entryCount == p.entryCount, written.sizeBytes == Int64(reader.fileSizeBytes),
                  compareBytes(written.smallestUserKey, Array(p.smallestKey.dropLast(InternalKey.trailerSize))) == 0,
                  compareBytes(written.largestUserKey, Array(p.largestKey.dropLast(InternalKey.trailerSize))) == 0 else {
                throw DBError.corruption(path: path, offset: reader.footer.properties.offset,
                                         reason: "the properties do not match what TableFileWriter wrote")
            }
            return Input(sourcePath: path, smallestUserKey: written.smallestUserKey,
                         largestUserKey: written.largestUserKey, entryCount: written.entryCount,
                         fileSizeBytes: reader.fileSizeBytes)
        }
        // The data blocks are read in two halves at once (the first on a
        // thread of its own), split at an index separator.
        let split = try splitKey(reader)
        let other = Locked<Result<Part, DBError>?>(nil)
        let helper = try BackgroundThread(name: "ringkv-ingest") {
            other.withLock { $0 = Result { () throws(DBError) in try checkPart(reader, path: path, split: split, firstHalf: false) } }
        }
        let firstPart = Result { () throws(DBError) in try checkPart(reader, path: path, split: split, firstHalf: true) }
        helper.join()
        let a = try firstPart.get()
        guard let b = try other.withLock({ $0 })?.get() else {
            throw DBError.internalError("ingest check of \(path): the second half reported nothing")
        }
        if let aLast = a.last, let bFirst = b.first, compareBytes(aLast, bFirst) >= 0 {
            throw DBError.corruption(path: path, offset: 0, reason: "keys out of order between the halves")
        }
        let count = a.count + b.count
        let first = a.first ?? b.first ?? []
        let previous = b.last ?? a.last ?? []
        guard count == p.entryCount else {
            throw DBError.corruption(path: path, offset: reader.footer.properties.offset,
                                     reason: "properties say \(p.entryCount) entries, the data blocks hold \(count)")
        }
        guard compareBytes(first, Array(p.smallestKey.dropLast(InternalKey.trailerSize))) == 0,
              compareBytes(previous, Array(p.largestKey.dropLast(InternalKey.trailerSize))) == 0 else {
            throw DBError.corruption(path: path, offset: reader.footer.properties.offset,
                                     reason: "the properties' key range does not match the data blocks")
        }
        return Input(sourcePath: path, smallestUserKey: first, largestUserKey: previous, entryCount: count,
                     fileSizeBytes: reader.fileSizeBytes)
    }

    /// One half of a file's entries as `checkPart` saw them.
    struct Part: Sendable {
        var first: [UInt8]?
        var last: [UInt8]?
        var count: UInt64 = 0
    }

    /// The index separator of the middle data block (nil for one block):
    /// entries at or below it form the first half.
    static func splitKey(_ reader: TableReader) throws(DBError) -> [UInt8]? {
        let index = reader.indexBlock.makeIterator()
        try index.seekToFirst()
        var separators: [[UInt8]] = []
        while index.isValid {
            separators.append(Array(index.key))
            try index.next()
        }
        return separators.count < 2 ? nil : separators[separators.count / 2 - 1]
    }

    /// Reads and checks the first half of the entries (those at or below
    /// `split`; all of them when it is nil) or the second (those above it;
    /// none when it is nil): each a value at sequence 0, user keys strictly
    /// increasing. Blocks are read with compaction's read-ahead and their
    /// CRCs checked as they are decoded.
    static func checkPart(_ reader: TableReader, path: String, split: [UInt8]?, firstHalf: Bool) throws(DBError) -> Part {
        var part = Part()
        let it = reader.makeIterator(readAhead: .compaction)
        let through = firstHalf ? split : nil
        if firstHalf {
            try it.seekToFirst()
        } else {
            guard let split else { return part }
            try split.withBytes { (k) throws(DBError) in try it.seek(k) }
            while it.isValid, split.withUnsafeBytes({ InternalKey.compare(it.key, $0) }) <= 0 { try it.next() }
        }
        // The previous user key, in a buffer of its own (no array traffic
        // per entry).
        var previous = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
        defer { previous.deallocate() }
        var previousCount = 0
        while it.isValid {
            let key = it.key
            if let through, through.withUnsafeBytes({ InternalKey.compare(key, $0) }) > 0 { break }
            let userKey = InternalKey.userKey(key)
            let (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(key))
            guard sequence == 0, type == ValueType.value.rawValue else {
                throw DBError.tableFileRefused(path: path, reason: "an entry has sequence \(sequence) and type "
                                               + "\(type); only values at sequence 0 can be ingested")
            }
            if part.count > 0 {
                guard compareBytes(UnsafeRawBufferPointer(rebasing: previous[0..<previousCount]), userKey) < 0 else {
                    throw DBError.corruption(path: path, offset: it.currentBlockHandle?.offset ?? 0,
                                             reason: "keys out of order")
                }
            } else {
                part.first = Array(userKey)
            }
            if userKey.count > previous.count {
                previous.deallocate()
                previous = UnsafeMutableRawBufferPointer.allocate(byteCount: userKey.count * 2, alignment: 8)
            }
            if let base = userKey.baseAddress, userKey.count > 0 {
                previous.baseAddress!.copyMemory(from: base, byteCount: userKey.count)
            }
            previousCount = userKey.count
            part.count += 1
            try it.next()
        }
        if part.count > 0 { part.last = Array(UnsafeRawBufferPointer(rebasing: previous[0..<previousCount])) }
        return part
    }

    /// Sorts `inputs` by smallest key and refuses two that overlap (a key
    /// in both would need two sequences; see docs/INGEST.md).
    static func ordered(_ inputs: [Input]) throws(DBError) -> [Input] {
        let sorted = inputs.sorted { compareBytes($0.smallestUserKey, $1.smallestUserKey) < 0 }
        for (a, b) in zip(sorted, sorted.dropFirst()) where compareBytes(a.largestUserKey, b.smallestUserKey) >= 0 {
            throw DBError.tableFileRefused(path: b.sourcePath, reason: "its keys overlap those of \(a.sourcePath) "
                                           + "(files of one ingest must hold disjoint key ranges)")
        }
        return sorted
    }

    /// Whether `memtable` holds an entry or range deletion in any input's
    /// range.
    func overlaps(_ memtable: MemTable) -> Bool {
        inputs.contains { input in
            var to = input.largestUserKey
            to.append(0)  // [smallest, largest] as [smallest, largest ++ 0x00)
            return DBImpl.memtable(memtable, overlapsFrom: input.smallestUserKey, to: to)
        }
    }

    /// The deepest level at which `input` overlaps nothing there and
    /// nothing above (L0 when something at L0 overlaps it).
    static func level(for input: Input, in version: Version) -> Int {
        var target = 0
        for level in 0..<Version.numLevels {
            if !version.overlappingFiles(level: level, smallestUserKey: input.smallestUserKey,
                                         largestUserKey: input.largestUserKey).isEmpty { break }
            target = level
        }
        return target
    }
}
