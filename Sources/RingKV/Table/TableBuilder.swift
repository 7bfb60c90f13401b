import RingIO

/// Knobs for writing one table; defaults match docs/FORMAT.md §SSTable.
package struct TableBuilderOptions: Sendable {
    /// A data block is cut once its uncompressed size reaches this (4 KiB:
    /// one page per point read).
    var blockSizeBytes = 4096
    /// Bloom filter bits per distinct user key (10 ≈ 1 % false positives);
    /// 0 writes no filter.
    var bloomBitsPerKey = 10
    /// .lz4 compresses each block when that saves at least 12.5 %.
    var compression: BlockCompression = .lz4
    /// Entries between full keys in data blocks (prefix compression vs seek cost).
    var restartInterval = 16
    /// Index blocks restart at every entry so a seek is a pure binary search.
    var indexRestartInterval = 1
    /// Size of each aligned output buffer (a multiple of 4096).
    var writeChunkSizeBytes = 256 * 1024
    /// Full chunks submitted together in one write batch.
    var writeChunksPerBatch = 4
    /// The filter's layout: blocked (one cache line per key, database
    /// format 4); `.legacy` only for tests that older tables still read.
    var filterLayout: BloomFilter.Layout = .blocked
    /// Also write a prefix filter over the first this many bytes of each
    /// user key (`KeyspaceOptions.prefixLength`); nil writes none. Its bits
    /// per prefix are `bloomBitsPerKey`, or 10 when that is 0.
    var prefixLength: Int?
    /// Finish a large bloom filter on two threads
    /// (`BloomFilterBuilder.finish(splitAcrossThreads:)`): `TableFileWriter`,
    /// whose caller waits for the finish with a core idle. Flush and
    /// compaction, on background threads already, do not.
    var splitFilterFinish = false

    package init() {}
}

/// Writes one sorted table (docs/FORMAT.md §SSTable): data blocks, then the
/// filter, properties and index blocks, zero padding, and the 64-byte
/// footer that ends the file on a 4096-byte boundary. Output goes through
/// aligned chunks, so the file may be opened with O_DIRECT.
///
/// Data flows: entries go into the current data block (`BlockBuilder`),
/// the bloom and prefix filters and the properties here; each finished
/// block goes to a `TableBlockWriter` (compression, CRC, the file, the
/// index). `TableFileWriter` runs a whole builder on a thread of its own
/// (`RecordPipeline`). The separator that indexes a block is computed
/// when the next block's first key arrives and travels with that block.
///
/// Use from one thread at a time (a `TableFileWriter`'s builder moves from
/// its pipeline's thread to the caller's across a pthread_join). After
/// `finish()` or `abandon()` the builder takes
/// nothing more; after a thrown error only `abandon()` is meaningful.
///
/// The stored `var`s are `@exclusivity(unchecked)`: one thread uses a
/// builder and no method hands out an `inout` reference to them, so the
/// runtime's dynamic exclusivity checks (begin/end access, a thread-local
/// access set) found nothing and cost ~15 % of a bulk write's CPU (perf,
/// kvbench --workload ingest).
package final class TableBuilder {
    let options: TableBuilderOptions
    let path: String
    private let file: File
    private let backend: any IOBackend
    /// The back half.
    private let blockWriter: TableBlockWriter

    @exclusivity(unchecked) private var dataBlock: BlockBuilder
    @exclusivity(unchecked) private var filter: BloomFilterBuilder?
    @exclusivity(unchecked) private var prefixFilter: PrefixFilterBuilder?
    @exclusivity(unchecked) private var properties = TableProperties()
    /// Set after a data block is finished, until the next key arrives, so
    /// the block's index entry can use a short separator between the two.
    @exclusivity(unchecked) private var blockEnded = false
    /// That separator, sent with the next block.
    @exclusivity(unchecked) private var pendingSeparator: [UInt8]?
    @exclusivity(unchecked) private var isClosed = false
    @exclusivity(unchecked) private var failure: DBError?
    /// Written into the range deletion block at `finish`.
    @exclusivity(unchecked) private var rangeTombstones: [RangeTombstone] = []

    package init(file: File, backend: any IOBackend, options: TableBuilderOptions) {
        precondition(options.blockSizeBytes > 0, "blockSizeBytes must be positive")
        self.options = options
        self.file = file
        self.path = file.path
        self.backend = backend
        blockWriter = TableBlockWriter(file: file, backend: backend, options: options)
        dataBlock = BlockBuilder(restartInterval: options.restartInterval)
        filter = options.bloomBitsPerKey > 0 ? BloomFilterBuilder(bitsPerKey: options.bloomBitsPerKey) : nil
        properties.bloomBitsPerKey = max(0, options.bloomBitsPerKey)
        if let length = options.prefixLength, length > 0 {
            prefixFilter = PrefixFilterBuilder(length: length,
                                               bitsPerKey: options.bloomBitsPerKey > 0 ? options.bloomBitsPerKey : 10)
        }
    }

    var entryCount: UInt64 { properties.entryCount }

    /// Bytes the file would have if finished now, minus meta blocks: lets
    /// compaction cut output files near their target size.
    var estimatedFileSizeBytes: UInt64 {
        blockWriter.writer.offset + UInt64(dataBlock.estimatedSizeBytes)
    }

    /// Adds one entry. `internalKey` must sort strictly after the previous
    /// one; an entry that does not is `DBError.corruption` and ends the
    /// builder (compaction inputs come from disk: a damaged table with
    /// valid checksums must fail the compaction, not the process).
    package func add(_ internalKey: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(DBError) {
        try checkAddable(internalKey)
        let isFirst = properties.entryCount == 0
        let sameUserKey: Bool
        if isFirst {
            sameUserKey = false
        } else {
            // The user keys once; the whole internal keys only when those
            // are equal (versions of one key).
            let (order, userOrder) = dataBlock.withLastKey { last in
                let userOrder = compareBytes(InternalKey.userKey(last), InternalKey.userKey(internalKey))
                return (userOrder != 0 ? userOrder : InternalKey.compare(last, internalKey), userOrder)
            }
            guard order < 0 else {
                let error = DBError.corruption(path: path, offset: blockWriter.writer.offset, reason:
                    "an entry sorts at or before the one added before it (a damaged input table?)")
                failure = error
                throw error
            }
            sameUserKey = userOrder == 0
        }
        let (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(internalKey))
        if isFirst {
            properties.smallestSequence = sequence
            properties.largestSequence = sequence
        } else {
            properties.smallestSequence = min(properties.smallestSequence, sequence)
            properties.largestSequence = max(properties.largestSequence, sequence)
        }
        if type == ValueType.deletion.rawValue { properties.deletionCount += 1 }
        try append(internalKey, value, newUserKey: !sameUserKey)
    }

    /// `add` for a caller that has checked the entry itself: the user key
    /// of `internalKey` sorts strictly after the previous entry's and its
    /// trailer is (sequence 0, value) — `TableFileWriter`, which refuses
    /// anything else before it calls. Skips `add`'s per-entry comparisons
    /// (the order precondition and the same-user-key test: two key
    /// compares, ~65 of the ~1,470 instructions per record of a bulk
    /// write's caller thread, callgrind) and its sequence and type
    /// bookkeeping; writes the same table as `add` would.
    package func addCheckedPut(_ internalKey: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(DBError) {
        try checkAddable(internalKey)
        if properties.entryCount == 0 {
            properties.smallestSequence = 0
            properties.largestSequence = 0
        }
        try append(internalKey, value, newUserKey: true)
    }

    /// What every add checks first: the builder is open, nothing failed,
    /// the key holds its trailer.
    @inline(__always)
    private func checkAddable(_ internalKey: UnsafeRawBufferPointer) throws(DBError) {
        precondition(!isClosed, "TableBuilder.add after finish() or abandon()")
        if let failure { throw failure }
        precondition(internalKey.count >= InternalKey.trailerSize, "internal key shorter than its 8-byte trailer")
    }

    /// The rest of every add, once the entry is checked and its sequence
    /// counted: the separator the ended block owes, the filters (once per
    /// user key), the byte counts, the data block (flushed when full).
    @inline(__always)
    private func append(_ internalKey: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                        newUserKey: Bool) throws(DBError) {
        if blockEnded {
            pendingSeparator = dataBlock.withLastKey { TableBuilder.shortestSeparator($0, internalKey) }
            blockEnded = false
        }
        if newUserKey {
            filter?.add(InternalKey.userKey(internalKey))
            prefixFilter?.add(userKey: InternalKey.userKey(internalKey))
        }
        if properties.entryCount == 0 { properties.smallestKey = Array(internalKey) }
        properties.entryCount += 1
        properties.rawKeyBytes += UInt64(internalKey.count)
        properties.rawValueBytes += UInt64(value.count)
        dataBlock.add(internalKey, value)
        if dataBlock.estimatedSizeBytes >= options.blockSizeBytes { try guarded { () throws(DBError) in try flushDataBlock() } }
    }

    package func add(_ internalKey: [UInt8], _ value: [UInt8]) throws(DBError) {
        try internalKey.withBytes { (k) throws(DBError) in try value.withBytes { (v) throws(DBError) in try add(k, v) } }
    }

    /// Adds range tombstones (any order, each `start < end`) for the range
    /// deletion block; the table's key bounds and sequence range grow to
    /// cover them (docs/FORMAT.md §Range deletion block).
    package func addRangeTombstones(_ tombstones: [RangeTombstone]) {
        precondition(!isClosed, "TableBuilder.addRangeTombstones after finish() or abandon()")
        precondition(tombstones.allSatisfy { compareBytes($0.start, $0.end) < 0 }, "empty range tombstone")
        rangeTombstones.append(contentsOf: tombstones)
    }

    /// Entries and range tombstones added so far.
    var isEmpty: Bool { properties.entryCount == 0 && rangeTombstones.isEmpty }

    /// Writes the rest of the table, pads, writes the footer and fsyncs.
    package func finish() throws(DBError) -> TableProperties {
        precondition(!isClosed, "TableBuilder.finish called twice or after abandon()")
        if let failure { throw failure }
        isClosed = true
        return try guarded { () throws(DBError) in
            if !dataBlock.isEmpty { try flushDataBlock() }
            if blockEnded {
                blockWriter.addLastIndexEntry(dataBlock.withLastKey { TableBuilder.shortSuccessor($0) })
                blockEnded = false
            }
            properties.dataBlockCount = blockWriter.dataBlockCount
            properties.dataSizeBytes = blockWriter.dataSizeBytes
            properties.largestKey = dataBlock.lastAddedKey
            let writer = blockWriter.writer
            func writeBlock(_ contents: [UInt8], compression: BlockCompression) throws(DBError)
                -> (handle: BlockHandle, stored: BlockCompression) {
                try blockWriter.writeBlock(contents, compression: compression)
            }

            var filterHandle: BlockHandle?
            if let filter {
                let encoded = options.filterLayout == .blocked ? filter.finish(splitAcrossThreads: options.splitFilterFinish)
                                                               : filter.finishLegacy()
                filterHandle = try writeBlock(encoded, compression: .uncompressed).handle
            }
            if let prefixFilter {
                properties.prefixFilterHandle = try writeBlock(prefixFilter.finish(), compression: .uncompressed).handle
                properties.prefixLength = prefixFilter.length
            }
            if !rangeTombstones.isEmpty {
                properties.rangeDeletionHandle = try writeBlock(RangeTombstone.encodeBlock(rangeTombstones),
                                                                compression: options.compression).handle
                properties.rangeDeletionCount = UInt64(rangeTombstones.count)
                extendBoundsForRangeTombstones()
            }
            let propertiesHandle = try writeBlock(properties.encode(), compression: .uncompressed).handle
            let indexHandle = try writeBlock(blockWriter.finishIndex(), compression: options.compression).handle

            let footerEnd = writer.offset + UInt64(TableFooter.sizeBytes)
            let fileSize = UInt64(AlignedBuffer.roundUp(Int(footerEnd)))
            try writer.appendZeros(Int(fileSize - footerEnd))
            let footer = TableFooter(index: indexHandle, filter: filterHandle, properties: propertiesHandle,
                                     formatVersion: rangeTombstones.isEmpty ? TableFooter.formatVersion
                                                                            : TableFooter.rangeDeletionFormatVersion)
            try writer.append(footer.encode())
            try writer.finish()
            do throws(IOError) { try backend.sync(fd: file.fd, dataOnly: false) } catch { throw DBError.io(error.at(path: path)) }
            properties.fileSizeBytes = fileSize
            return properties
        }
    }

    /// Stops building; nothing more is written. The caller removes the file.
    func abandon() {
        isClosed = true
        blockWriter.writer.abandon()
    }

    /// Widens the key bounds and the sequence range to the tombstones:
    /// smallest becomes at most (start, sequence) of each, largest at least
    /// (end, 0) — `end` is exclusive, but user-key bounds are inclusive, so
    /// the table claims `end` too; compaction cuts outputs accordingly.
    private func extendBoundsForRangeTombstones() {
        var hasEntries = properties.entryCount > 0
        for t in rangeTombstones {
            let low = InternalKey.make(t.start, t.sequence, .deletion)
            let high = InternalKey.make(t.end, 0, .deletion)
            if !hasEntries {
                properties.smallestKey = low
                properties.largestKey = high
                properties.smallestSequence = t.sequence
                properties.largestSequence = t.sequence
                hasEntries = true
                continue
            }
            if low.withUnsafeBytes({ l in properties.smallestKey.withUnsafeBytes { InternalKey.compare(l, $0) < 0 } }) {
                properties.smallestKey = low
            }
            if high.withUnsafeBytes({ h in properties.largestKey.withUnsafeBytes { InternalKey.compare(h, $0) > 0 } }) {
                properties.largestKey = high
            }
            properties.smallestSequence = min(properties.smallestSequence, t.sequence)
            properties.largestSequence = max(properties.largestSequence, t.sequence)
        }
    }

    // MARK: - Blocks

    /// See `TableBlockWriter.incompressibleStreakLimit`.
    static let incompressibleStreakLimit = TableBlockWriter.incompressibleStreakLimit
    static let incompressibleProbeInterval = TableBlockWriter.incompressibleProbeInterval

    /// Hands the finished data block, with the separator of the one
    /// before, to the block writer (lent for the call only: no copy).
    private func flushDataBlock() throws(DBError) {
        let separator = pendingSeparator
        pendingSeparator = nil
        blockEnded = true
        try dataBlock.finish { (raw) throws(DBError) in
            try blockWriter.writeDataBlock(raw, separatorOfPrevious: separator)
        }
        dataBlock.reset()
    }

    /// Runs `body`; remembers the first error so later calls fail the same way.
    private func guarded<R>(_ body: () throws(DBError) -> R) throws(DBError) -> R {
        do { return try body() } catch {
            failure = error
            throw error
        }
    }

    // MARK: - Index separators

    /// An internal key k with a <= k < b, as short as cheaply possible: the
    /// user key of `a` cut after the first byte where it differs from `b`,
    /// that byte incremented, with the maximal trailer (so k sorts before
    /// every real entry of its user key). Falls back to `a` itself.
    static func shortestSeparator(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> [UInt8] {
        let ua = InternalKey.userKey(a), ub = InternalKey.userKey(b)
        let n = BlockBuilder.commonPrefixLength(ua, ub)
        if n < min(ua.count, ub.count) {
            let byte = ua[n]
            if byte < 0xff && byte + 1 < ub[n] && n + 1 < ua.count {
                var s = Array(UnsafeRawBufferPointer(rebasing: ua[0...n]))
                s[n] += 1
                return InternalKey.make(s, InternalKey.maxSequenceNumber, .value)
            }
        }
        return Array(a)
    }

    /// An internal key k >= a, short: the user key of `a` cut after its
    /// first byte that is not 0xff, that byte incremented. Falls back to `a`.
    static func shortSuccessor(_ a: UnsafeRawBufferPointer) -> [UInt8] {
        let ua = InternalKey.userKey(a)
        for i in 0..<ua.count where ua[i] != 0xff {
            guard i + 1 < ua.count else { break }
            var s = Array(UnsafeRawBufferPointer(rebasing: ua[0...i]))
            s[i] += 1
            return InternalKey.make(s, InternalKey.maxSequenceNumber, .value)
        }
        return Array(a)
    }
}
