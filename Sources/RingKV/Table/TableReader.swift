import RingIO

/// The answer of a point lookup in one table.
enum TableLookupResult: Equatable, Sendable {
    /// The newest visible version is a value.
    case found([UInt8])
    /// The newest visible version is a deletion: stop looking in older tables.
    case deleted
    /// The newest visible version is a merge operand (older ones matter too).
    case mergeOperand
    /// No visible version of the key in this table.
    case notFound
}

/// A point lookup's answer in one block, the value in place in the
/// block's memory (valid while the block is kept alive).
/// Found values and deletions carry the entry's sequence, which range
/// tombstones are compared against.
enum BlockSearchResult {
    case found(UnsafeRawBufferPointer, sequence: SequenceNumber)
    case deleted(sequence: SequenceNumber)
    /// The newest visible entry is a merge operand: the caller folds the
    /// key's versions (`DBImpl.resolveMerged`).
    case mergeOperand(sequence: SequenceNumber)
    case notFound
}

/// An open table: footer, index, filter and properties read once at open,
/// data blocks read on demand through the backend. Immutable after `open`,
/// so one reader serves many threads.
///
/// A point lookup is split in steps so a batched multi-key lookup can run
/// the filter and index for many keys of many tables, add every needed
/// block to one `AlignedReadPlan` (`planRead`), fetch them all with a
/// single `readBatch`, then `decodeBlock` and `search` each.
///
/// The index block and the bloom filter are held here for the reader's
/// whole life ("pinned" per open table); only data blocks go through the
/// block cache.
package final class TableReader: Sendable {
    package let file: File
    let fileNumber: UInt64
    package let fileSizeBytes: UInt64
    package let backend: any IOBackend
    package let footer: TableFooter
    package let properties: TableProperties
    package let indexBlock: Block
    /// The index as 8-byte keys for point lookups (nil: search the block).
    let indexSearch: IndexSearch?
    let filter: BloomFilter?
    /// The prefix filter (PrefixFilter.swift), nil when the table has none.
    let prefixFilter: PrefixFilter?
    /// Data blocks lie in [0, dataEndOffset): the first meta block starts there.
    package let dataEndOffset: UInt64
    /// The range deletion block's tombstones (empty for format version 1),
    /// held for the reader's life like the index and filter.
    package let rangeTombstoneList: [RangeTombstone]
    let rangeTombstones: RangeTombstoneIndex
    /// `!rangeTombstoneList.isEmpty`: lets a lookup skip the index (and
    /// its retains) in the common case.
    let hasRangeTombstones: Bool
    /// Memory this reader holds for its whole life (index block, its
    /// 8-byte search keys, bloom filter, range tombstones): what a get
    /// needs besides the one data block, so no get reads them from disk.
    /// Bounded by the table cache (`Options.maxOpenFiles` readers) and
    /// reported as `DBStats.pinnedTableMemoryBytes`.
    let pinnedMemoryBytes: Int
    /// Blocks `open` read from the file (footer, index, properties, filter,
    /// range deletion block): `DBStats.tableOpenBlocksRead`.
    let openBlocksRead: Int
    /// An ingested table's global sequence (`FileMetaData.globalSequence`;
    /// 0: none): every entry reads as written at it, so a snapshot below it
    /// sees nothing here and lookups report it as the entry's sequence.
    let globalSequence: SequenceNumber

    package var path: String { file.path }

    private init(file: File, fileNumber: UInt64, fileSizeBytes: UInt64, backend: any IOBackend, footer: TableFooter,
                 properties: TableProperties, indexBlock: Block, filter: BloomFilter?, dataEndOffset: UInt64,
                 rangeTombstones: [RangeTombstone], prefixFilter: PrefixFilter?,
                 globalSequence: SequenceNumber) throws(DBError) {
        self.file = file
        self.globalSequence = globalSequence
        self.fileNumber = fileNumber
        self.fileSizeBytes = fileSizeBytes
        self.backend = backend
        self.footer = footer
        self.properties = properties
        self.indexBlock = indexBlock
        do throws(DecodeError) { self.indexSearch = try IndexSearch(index: indexBlock.layout) } catch {
            throw indexBlock.corruption(error)
        }
        self.filter = filter
        self.prefixFilter = prefixFilter
        self.dataEndOffset = dataEndOffset
        self.rangeTombstoneList = rangeTombstones
        self.rangeTombstones = RangeTombstoneIndex(rangeTombstones)
        self.hasRangeTombstones = !rangeTombstones.isEmpty
        let tombstoneBytes = rangeTombstones.reduce(0) { $0 + $1.start.count + $1.end.count + 48 }
        self.pinnedMemoryBytes = indexBlock.memoryBytes + (indexSearch?.memoryBytes ?? 0)
            + (filter?.memoryBytes ?? 0) + (prefixFilter?.bloom.memoryBytes ?? 0) + tombstoneBytes
        self.openBlocksRead = 3 + (filter == nil ? 0 : 1) + (prefixFilter == nil ? 0 : 1)
            + (footer.formatVersion == TableFooter.rangeDeletionFormatVersion ? 1 : 0)
    }

    /// Reads and checks the footer, then index, filter and properties in one
    /// batch. Works for O_DIRECT and buffered files alike (`AlignedReadPlan`
    /// places each read as its file needs).
    package static func open(file: File, fileNumber: UInt64, backend: any IOBackend,
                             globalSequence: SequenceNumber = 0) throws(DBError) -> TableReader {
        let path = file.path
        let fileSize: UInt64
        do { fileSize = try file.size() } catch { throw DBError.io(error.at(path: path)) }
        let footerOffset = fileSize >= UInt64(TableFooter.sizeBytes) ? fileSize - UInt64(TableFooter.sizeBytes) : 0
        guard fileSize >= UInt64(TableFooter.sizeBytes) else {
            throw DBError.corruption(path: path, offset: 0, reason:
                "file of \(fileSize) bytes is too short to hold the \(TableFooter.sizeBytes)-byte table footer (truncated?)")
        }
        let io = TableFileIO(file: file, backend: backend, fileSizeBytes: fileSize)
        let footer: TableFooter = try io.readRange(offset: footerOffset, length: TableFooter.sizeBytes) { (bytes) throws(DBError) in
            do throws(DecodeError) { return try TableFooter.decode(bytes) } catch {
                throw DBError.corruption(path: path, offset: footerOffset + UInt64(error.offset), reason: error.reason)
            }
        }
        guard fileSize % UInt64(AlignedBuffer.alignment) == 0 else {
            throw DBError.corruption(path: path, offset: fileSize, reason:
                "table size \(fileSize) is not a multiple of \(AlignedBuffer.alignment) (truncated or extended?)")
        }
        var metaHandles = [footer.index, footer.properties]
        if let filterHandle = footer.filter { metaHandles.append(filterHandle) }
        for h in metaHandles { try io.check(h, within: footerOffset, what: "meta block") }
        let dataEnd = metaHandles.map(\.offset).min() ?? 0

        var index: Block?
        var properties = TableProperties()
        var filter: BloomFilter?
        try io.readStored(metaHandles) { (i, stored) throws(DBError) in
            let offset = metaHandles[i].offset
            switch i {
            case 0:
                index = try BlockCodec.decode(stored, path: path, offset: offset)
            case 1:
                try BlockCodec.withDecodedContents(stored, path: path, offset: offset) { (raw) throws(DBError) in
                    do throws(DecodeError) { properties = try TableProperties.decode(raw) } catch {
                        throw DBError.corruption(path: path, offset: offset, reason: "properties block: \(error.reason)")
                    }
                }
            default:
                try BlockCodec.withDecodedContents(stored, path: path, offset: offset) { (raw) throws(DBError) in
                    do throws(DecodeError) { filter = try BloomFilter(decoding: raw) } catch {
                        throw DBError.corruption(path: path, offset: offset, reason: "filter block: \(error.reason)")
                    }
                }
            }
        }
        guard let index else { preconditionFailure("readStored visits every handle") }
        properties.fileSizeBytes = fileSize
        let tombstones = try readRangeTombstones(io: io, footer: footer, properties: properties, limit: footerOffset)
        let prefixFilter = try readPrefixFilter(io: io, properties: properties, limit: footerOffset)
        let dataEndWithTombstones = min(dataEnd, properties.rangeDeletionHandle?.offset ?? dataEnd,
                                        properties.prefixFilterHandle?.offset ?? dataEnd)
        return try TableReader(file: file, fileNumber: fileNumber, fileSizeBytes: fileSize, backend: backend, footer: footer,
                           properties: properties, indexBlock: index, filter: filter, dataEndOffset: dataEndWithTombstones,
                           rangeTombstones: tombstones, prefixFilter: prefixFilter, globalSequence: globalSequence)
    }

    /// The range deletion block of a format-version-2 table (one more read,
    /// only for such tables); checks that version and handle agree.
    static func readRangeTombstones(io: TableFileIO, footer: TableFooter, properties: TableProperties,
                                    limit: UInt64) throws(DBError) -> [RangeTombstone] {
        let path = io.path
        guard footer.formatVersion == TableFooter.rangeDeletionFormatVersion else {
            guard properties.rangeDeletionHandle == nil else {
                throw DBError.corruption(path: path, offset: footer.properties.offset, reason:
                    "properties name a range deletion block, but the footer says table format version 1")
            }
            return []
        }
        guard let handle = properties.rangeDeletionHandle else {
            throw DBError.corruption(path: path, offset: footer.properties.offset, reason:
                "table format version 2 without a range deletion handle in its properties")
        }
        try io.check(handle, within: limit, what: "range deletion block")
        var tombstones: [RangeTombstone] = []
        try io.readStored([handle]) { (_, stored) throws(DBError) in
            try BlockCodec.withDecodedContents(stored, path: path, offset: handle.offset) { (raw) throws(DBError) in
                do throws(DecodeError) { tombstones = try RangeTombstone.decodeBlock(raw) } catch {
                    throw DBError.corruption(path: path, offset: handle.offset,
                                             reason: "range deletion block: \(error.reason)")
                }
            }
        }
        guard UInt64(tombstones.count) == properties.rangeDeletionCount else {
            throw DBError.corruption(path: path, offset: handle.offset, reason:
                "properties say \(properties.rangeDeletionCount) range tombstones, the block holds \(tombstones.count)")
        }
        return tombstones
    }

    // MARK: - Point lookup, step by step

    /// False only when the table certainly has no entry for `userKey`.
    package func mayContain(userKey: UnsafeRawBufferPointer) -> Bool {
        filter?.mayContain(userKey) ?? true
    }

    package func mayContain(userKey: [UInt8]) -> Bool {
        userKey.withUnsafeBytes { mayContain(userKey: $0) }
    }

    package func mayContain(userKeyHash: UInt64) -> Bool {
        filter?.mayContain(hash: userKeyHash) ?? true
    }

    /// The data block that holds the first entry >= `lookupKey` (an internal
    /// key), or nil when `lookupKey` is past the table's last key. The index
    /// is searched with a cursor on the stack: nothing is allocated.
    func locate(_ lookupKey: UnsafeRawBufferPointer) throws(DBError) -> BlockHandle? {
        let value: UnsafeRawBufferPointer? = try indexBlock.withCursor { (cursor) throws(DBError) in
            do throws(DecodeError) { try cursor.seek(lookupKey, using: indexSearch) } catch {
                throw indexBlock.corruption(error)
            }
            return cursor.isValid ? cursor.value : nil
        }
        // `value` points into the index block, which this reader holds.
        guard let value else { return nil }
        return try decodeIndexValue(value)
    }

    /// `locate` for the newest version of `userKey` visible at `snapshot`.
    func locate(userKey: UnsafeRawBufferPointer, snapshot: SequenceNumber) throws(DBError) -> BlockHandle? {
        guard globalSequence <= snapshot else { return nil }
        return try TableReader.withLookupKey(userKey, snapshot) { (key) throws(DBError) in try locate(key) }
    }

    /// Checks that `handle` names a stored data block of this table and
    /// adds its aligned read to `plan` (which may hold reads of other tables
    /// too); returns the span index to pass to `decodeBlock`.
    func planRead(_ handle: BlockHandle, into plan: inout AlignedReadPlan) throws(DBError) -> Int {
        try io.check(handle, within: dataEndOffset, what: "data block")
        return plan.add(file, offset: handle.offset, length: Int(handle.sizeWithTrailer))
    }

    /// Verifies (read result, CRC) and decodes span `span` of an executed
    /// plan, which `planRead` of this table added.
    func decodeBlock(_ result: AlignedReadResult, span: Int) throws(DBError) -> Block {
        let offset = result.spans[span].offset
        return try result.withBytes(span) { (bytes) throws(DBError) in try BlockCodec.decode(bytes, path: path, offset: offset) }
    }

    /// Reads every handle with ONE `readBatch`, checks CRCs, decompresses.
    /// Results are in the order of `handles`. Bypasses the block cache.
    func readBlocks(_ handles: [BlockHandle]) throws(DBError) -> [Block] {
        var plan = AlignedReadPlan()
        for h in handles { _ = try planRead(h, into: &plan) }
        let result = try plan.execute(backend: backend)
        return try handles.indices.map { (i) throws(DBError) in try decodeBlock(result, span: i) }
    }

    /// The data block at `handle`: from `cache` when it holds it, else read
    /// (and cached when `fillCache`).
    func block(_ handle: BlockHandle, cache: BlockCache?, fillCache: Bool) throws(DBError) -> Block {
        let key = BlockCacheKey(fileNumber: fileNumber, blockOffset: handle.offset)
        if let cache, let hit = cache.lookup(key) { return hit }
        let block = try readBlock(handle)
        if fillCache { cache?.insert(key, block) }
        return block
    }

    /// The newest version of `userKey` visible at `snapshot` in `block`
    /// (the block `locate` returned for the same key and snapshot).
    func search(_ block: Block, userKey: UnsafeRawBufferPointer, snapshot: SequenceNumber) throws(DBError) -> TableLookupResult {
        let found = try withExtendedLifetime(block) { () throws(DBError) in
            try find(in: block.layout, blockOffset: block.fileOffset, userKey: userKey, snapshot: snapshot)
        }
        switch found {
        case .found(let value, _): return .found(Array(value))
        case .deleted: return .deleted
        case .mergeOperand: return .mergeOperand
        case .notFound: return .notFound
        }
    }

    /// `search` without copying: a found value points into the block's
    /// memory (`layout`), valid while the caller keeps that memory alive.
    /// The key is rebuilt in a buffer on the stack and compared in place.
    func find(in layout: BlockLayout, blockOffset: UInt64, userKey: UnsafeRawBufferPointer,
              snapshot: SequenceNumber) throws(DBError) -> BlockSearchResult {
        func corrupt(_ reason: String) -> DBError {
            .corruption(path: path, offset: blockOffset, reason: "block: " + reason)
        }
        guard globalSequence <= snapshot else { return .notFound }
        return try TableReader.withLookupKey(userKey, snapshot) { (lookupKey) throws(DBError) in
            try BlockCursor.withCursor(layout) { (cursor) throws(DBError) in
                do throws(DecodeError) { try cursor.seek(lookupKey) } catch { throw corrupt(error.reason) }
                guard cursor.isValid else { return .notFound }
                let key = cursor.key
                guard compareBytes(InternalKey.userKey(key), userKey) == 0 else { return .notFound }
                var (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(key))
                if globalSequence != 0 { sequence = globalSequence }
                switch type {
                case ValueType.value.rawValue: return .found(cursor.value, sequence: sequence)
                case ValueType.deletion.rawValue: return .deleted(sequence: sequence)
                case ValueType.merge.rawValue: return .mergeOperand(sequence: sequence)
                case let other: throw corrupt("unknown value type \(other)")
                }
            }
        }
    }

    // MARK: - One block, read alone

    /// Reads data block `handle` with one read (no plan, no batch: the
    /// point-lookup path), checks its CRC and decompresses it; `body` gets
    /// the decoded contents in memory it must either take over
    /// (`Block.make(takingOwnershipOf:)`) or free.
    ///
    /// A buffered file is read at the block's exact range straight into
    /// memory that, for an uncompressed block, becomes the block: no page
    /// rounding (the kernel copies only the block's bytes), no second copy.
    /// An O_DIRECT file needs aligned offsets and lengths
    /// (`File.directReadAlignment`) and page-aligned memory, so the
    /// aligned span holding the block is read and the block copied out.
    private func readDecoded<R>(_ handle: BlockHandle,
                                _ body: (BlockAllocation, Int) throws(DBError) -> R) throws(DBError) -> R {
        let read = try loneRead(handle)
        // Not zero-filled: only the bytes the read returned are looked at.
        // A buffered read's memory may become the block: from `BlockMemory`.
        let allocation = file.isDirect
            ? BlockAllocation.plain(UnsafeMutableRawPointer.allocate(byteCount: read.lengthBytes,
                                                                     alignment: AlignedBuffer.alignment),
                                    capacity: read.lengthBytes)
            : BlockMemory.allocate(minimumBytes: read.lengthBytes)
        let buffer = allocation.pointer
        var ownsBuffer = true
        defer { if ownsBuffer { BlockMemory.free(allocation) } }
        let bytesRead: Int
        do throws(IOError) {
            // Synchronous: the buffer is not freed before the read returned.
            bytesRead = try backend.readAlone(fd: file.fd,
                                              into: UnsafeMutableRawBufferPointer(start: buffer, count: read.lengthBytes),
                                              offset: read.start, direct: file.isDirect)
        } catch {
            if error.memoryMayStillBeInUse {
                // The kernel may still write into it: never freed.
                ownsBuffer = false
                Quarantine.keep(address: buffer, bytes: read.lengthBytes)
            }
            throw DBError.io(error.at(path: path))
        }
        let (storage, count) = try decodeLoneRead(read, from: UnsafeRawPointer(buffer), bytesRead: bytesRead,
                                                  owner: read.skip == 0 && !file.isDirect ? allocation : nil)
        if storage.pointer == buffer { ownsBuffer = false }
        return try body(storage, count)
    }

    /// The one read that fetches data block `handle` alone: `lengthBytes`
    /// at `start` of the file (aligned for an O_DIRECT file), the
    /// block `skip` bytes into it (see `readDecoded`).
    struct LoneRead {
        let handle: BlockHandle
        let start: UInt64
        let lengthBytes: Int
        /// The block's bytes, trailer included.
        let wantedBytes: Int
        var skip: Int { Int(handle.offset - start) }
    }

    /// Checks `handle` against the file's layout and places its lone read.
    func loneRead(_ handle: BlockHandle) throws(DBError) -> LoneRead {
        try io.check(handle, within: dataEndOffset, what: "data block")
        let wanted = Int(handle.sizeWithTrailer)
        if file.isDirect {
            let (start, end) = file.readSpan(offset: handle.offset, length: wanted)
            return LoneRead(handle: handle, start: start, lengthBytes: Int(end - start), wantedBytes: wanted)
        }
        return LoneRead(handle: handle, start: handle.offset, lengthBytes: max(wanted, 1), wantedBytes: wanted)
    }

    /// Checks that `read` returned its block (`bytesRead` bytes at `base`),
    /// verifies the CRC and decompresses: `BlockCodec.decodeContents`
    /// (`owner`: the memory at `base`, which may become the block).
    func decodeLoneRead(_ read: LoneRead, from base: UnsafeRawPointer, bytesRead: Int,
                        owner: BlockAllocation?) throws(DBError) -> (storage: BlockAllocation, count: Int) {
        let offset = read.handle.offset
        guard bytesRead >= read.skip + read.wantedBytes else {
            throw DBError.corruption(path: path, offset: offset, reason:
                "truncated: \(read.wantedBytes) bytes wanted at offset \(offset), "
                + "the file ends at \(read.start + UInt64(bytesRead))")
        }
        // Assumes: [skip, skip + wanted) was read (checked above).
        let stored = UnsafeRawBufferPointer(start: base + read.skip, count: read.wantedBytes)
        return try BlockCodec.decodeContents(stored, path: path, offset: offset, owner: owner)
    }

    // MARK: - Exact reads of a buffered file, batched by the caller

    /// A read of data block `handle`'s exact bytes into fresh memory, for
    /// a caller that puts reads of several tables into one `readBatch`
    /// (batched lookups of buffered files). The memory (`buffer`) belongs
    /// to the caller until `finishExactRead` takes it over.
    func exactRead(_ handle: BlockHandle) throws(DBError) -> ReadRequest {
        try io.check(handle, within: dataEndOffset, what: "data block")
        let wanted = Int(handle.sizeWithTrailer)
        // `finishExactRead` (or the round that drops it) finds the
        // allocation again from the pointer and `length`.
        let buffer = BlockMemory.allocate(minimumBytes: wanted).pointer
        return ReadRequest(fd: file.fd, offset: handle.offset, length: wanted, buffer: buffer)
    }

    /// Checks and decodes a completed `exactRead`, taking over its memory
    /// (it becomes the block when uncompressed, else it is freed; freed too
    /// when this throws).
    func finishExactRead(_ read: ReadRequest, _ handle: BlockHandle) throws(DBError) -> Block {
        let allocation = BlockMemory.allocation(at: read.buffer, minimumBytes: read.length)
        var ownsBuffer = true
        defer { if ownsBuffer { BlockMemory.free(allocation) } }
        if let error = read.error { throw DBError.io(error.at(path: path)) }
        guard read.bytesRead >= read.length else {
            throw DBError.corruption(path: path, offset: handle.offset, reason:
                "truncated: \(read.length) bytes wanted at offset \(handle.offset), "
                + "the file ends at \(handle.offset + UInt64(read.bytesRead))")
        }
        let stored = UnsafeRawBufferPointer(start: read.buffer, count: read.length)
        let (storage, count) = try BlockCodec.decodeContents(stored, path: path, offset: handle.offset,
                                                             owner: allocation)
        if storage.pointer == read.buffer { ownsBuffer = false }
        return try Block.make(takingOwnershipOf: storage, count: count, path: path, fileOffset: handle.offset)
    }

    /// Data block `handle`, read alone (see `readDecoded`) into a `Block`.
    func readBlock(_ handle: BlockHandle) throws(DBError) -> Block {
        try readDecoded(handle) { (storage, count) throws(DBError) in
            try Block.make(takingOwnershipOf: storage, count: count, path: path, fileOffset: handle.offset)
        }
    }

    /// Reads data block `handle` alone and lends its decoded contents to
    /// `body`, then frees them: for reads that do not fill the cache, so
    /// no `Block` object is made.
    func withBlockRead<R>(_ handle: BlockHandle, _ body: (BlockLayout) throws(DBError) -> R) throws(DBError) -> R {
        // The decoded memory is this function's from here (freed below).
        let (storage, count) = try readDecoded(handle) { (storage, count) throws(DBError) in (storage, count) }
        defer { BlockMemory.free(storage) }
        let layout: BlockLayout
        do throws(DecodeError) { layout = try BlockLayout(base: UnsafeRawPointer(storage.pointer), count: count) } catch {
            throw DBError.corruption(path: path, offset: handle.offset, reason: error.reason)
        }
        return try body(layout)
    }

    /// Filter, index, block (from `cache` or one read), search. The DB
    /// read path runs the same steps for many keys and tables at once.
    func get(userKey: UnsafeRawBufferPointer, snapshot: SequenceNumber,
             cache: BlockCache? = nil, fillCache: Bool = true) throws(DBError) -> TableLookupResult {
        guard mayContain(userKey: userKey) else { return .notFound }
        guard let handle = try locate(userKey: userKey, snapshot: snapshot) else { return .notFound }
        let block = try block(handle, cache: cache, fillCache: fillCache)
        return try search(block, userKey: userKey, snapshot: snapshot)
    }

    func get(userKey: [UInt8], snapshot: SequenceNumber,
             cache: BlockCache? = nil, fillCache: Bool = true) throws(DBError) -> TableLookupResult {
        try userKey.withBytes { (key) throws(DBError) in
            try get(userKey: key, snapshot: snapshot, cache: cache, fillCache: fillCache)
        }
    }

    /// A two-level iterator (index block -> data blocks, read lazily).
    /// - Parameters:
    ///   - cache: the block cache to look in (nil: none).
    ///   - fillCache: put blocks this iterator reads into `cache`.
    ///   - readAhead: `.adaptive` for user scans, `.compaction` for
    ///     compaction inputs (large batches, never touches the cache).
    ///   - prefetch: submit the next read-ahead window asynchronously while
    ///     the current one is consumed (false: read each window when the
    ///     cursor reaches it).
    ///   - bounds: user-key range outside which no data block is read.
    ///   - blocksReadCounter: also counts the data blocks read here.
    func makeIterator(cache: BlockCache? = nil, fillCache: Bool = true,
                      readAhead: ReadAhead = .adaptive, prefetch: Bool = true,
                      bounds: IterationBounds = .unbounded, blocksReadCounter: Counter? = nil,
                      seekBatchCounter: Counter? = nil) -> TableIterator {
        TableIterator(self, cache: readAhead == .compaction ? nil : cache, fillCache: fillCache,
                      readAhead: readAhead, prefetch: prefetch, bounds: bounds, blocksReadCounter: blocksReadCounter,
                      seekBatchCounter: seekBatchCounter)
    }

    // MARK: - Helpers

    var io: TableFileIO { TableFileIO(file: file, backend: backend, fileSizeBytes: fileSizeBytes) }

    /// The data block handle of an index entry, checked to lie in the data
    /// area: every user of it (iterator windows, the verifier) may add its
    /// offset and size without overflow.
    package func decodeIndexValue(_ value: UnsafeRawBufferPointer) throws(DBError) -> BlockHandle {
        let handle: BlockHandle
        do { handle = try BlockHandle.decodeVarint(value) } catch {
            throw DBError.corruption(path: path, offset: footer.index.offset, reason: "index entry: \(error.reason)")
        }
        try TableFileIO.check(handle, within: dataEndOffset, what: "data block", path: path)
        return handle
    }

    /// Calls `body` with userKey ++ trailer(snapshot, typeForSeek): the
    /// smallest internal key of `userKey` visible at `snapshot`.
    static func withLookupKey<R, E: Error>(_ userKey: UnsafeRawBufferPointer, _ snapshot: SequenceNumber,
                                           _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let count = userKey.count + InternalKey.trailerSize
        return try withTemporaryBytes(byteCount: count, alignment: 8) { (buffer) throws(E) in
            // Assumes: buffer holds userKey.count + 8 bytes.
            if let src = userKey.baseAddress, userKey.count > 0 {
                buffer.baseAddress!.copyMemory(from: src, byteCount: userKey.count)
            }
            let trailer = InternalKey.packTrailer(min(snapshot, InternalKey.maxSequenceNumber), InternalKey.typeForSeek)
            buffer.storeBytes(of: trailer.littleEndian, toByteOffset: userKey.count, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }
}
