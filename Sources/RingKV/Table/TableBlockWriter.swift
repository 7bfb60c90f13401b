import RingIO

/// The back half of `TableBuilder`: takes finished data blocks in order,
/// compresses each (when worth it), appends payload + trailer (type, CRC)
/// to the file through an `AlignedChunkWriter`, and builds the index block
/// from the block handles it produces and the separators the front half
/// computes.
///
/// Data flows: `writeDataBlock(contents, separatorOfPrevious:)` first adds
/// the index entry of the block written before (its separator is known
/// only once the next block's first key has arrived, so it travels with
/// the next block), then encodes and appends `contents`, which becomes
/// the pending block; `addLastIndexEntry` closes the index after the last
/// block. `TableBuilder.finish` then writes the meta blocks through
/// `writeBlock`.
///
/// Used by one thread at a time: its builder's (`TableBuilder`'s use
/// rules; a `TableFileWriter`'s builder moves between threads only across
/// a pthread_join). Hence `@exclusivity(unchecked)` on its stored vars,
/// as on `TableBuilder`'s.
final class TableBlockWriter {
    let options: TableBuilderOptions
    let writer: AlignedChunkWriter
    @exclusivity(unchecked) private(set) var indexBlock: BlockBuilder
    /// The last data block written, waiting for its index entry.
    @exclusivity(unchecked) private var pendingHandle: BlockHandle?
    @exclusivity(unchecked) private var compressionScratch: [UInt8] = []
    /// Data blocks in a row that LZ4 did not shrink enough (see
    /// `dataBlockCompression`).
    @exclusivity(unchecked) private var incompressibleStreak = 0
    @exclusivity(unchecked) private(set) var dataBlockCount: UInt64 = 0
    /// Stored bytes of the data blocks, trailers included.
    @exclusivity(unchecked) private(set) var dataSizeBytes: UInt64 = 0

    init(file: File, backend: any IOBackend, options: TableBuilderOptions) {
        self.options = options
        writer = AlignedChunkWriter(file: file, backend: backend, chunkSizeBytes: options.writeChunkSizeBytes,
                                    chunksPerBatch: options.writeChunksPerBatch)
        indexBlock = BlockBuilder(restartInterval: options.indexRestartInterval)
    }

    /// Adds the index entry of the previous block (when there is one:
    /// `separatorOfPrevious` is then its separator), then writes `contents`
    /// as the next data block.
    func writeDataBlock(_ contents: UnsafeRawBufferPointer, separatorOfPrevious: [UInt8]?) throws(DBError) {
        if let separatorOfPrevious, let handle = pendingHandle {
            addIndexEntry(separatorOfPrevious, handle)
            pendingHandle = nil
        }
        let attempted = dataBlockCompression
        let (handle, stored) = try writeBlock(contents, compression: attempted)
        // A skipped attempt counts as a failed one, so the probes come round.
        incompressibleStreak = stored == .uncompressed ? incompressibleStreak + 1 : 0
        dataBlockCount += 1
        dataSizeBytes += handle.sizeWithTrailer
        pendingHandle = handle
    }

    /// Adds the index entry of the last data block (none when no block was
    /// written).
    func addLastIndexEntry(_ separator: [UInt8]) {
        if let handle = pendingHandle {
            addIndexEntry(separator, handle)
            pendingHandle = nil
        }
    }

    /// Whether a data block waits for its index entry.
    var hasPendingBlock: Bool { pendingHandle != nil }

    // MARK: - Blocks

    /// After 8 data blocks in a row that LZ4 could not shrink by 1/8 (random
    /// or already compressed values), only every 16th is tried: the others
    /// are stored as they are without the attempt, which on incompressible
    /// data cost the whole of LZ4's work for nothing (`LZ4_compress` was
    /// 3–4 % of the CPU of YCSB load and A, in flushes and compactions).
    /// One block that compresses ends the streak. The file format does not
    /// change: any block may be stored uncompressed.
    static let incompressibleStreakLimit = 8
    static let incompressibleProbeInterval = 16

    private var dataBlockCompression: BlockCompression {
        let streak = incompressibleStreak - TableBlockWriter.incompressibleStreakLimit
        return streak >= 0 && streak % TableBlockWriter.incompressibleProbeInterval != 0 ? .uncompressed
                                                                                          : options.compression
    }

    /// Compresses when worth it, appends payload + trailer; returns the
    /// handle and how the block was stored.
    func writeBlock(_ contents: [UInt8], compression: BlockCompression) throws(DBError)
        -> (handle: BlockHandle, stored: BlockCompression) {
        try contents.withBytes { (raw) throws(DBError) in try writeBlock(raw, compression: compression) }
    }

    func writeBlock(_ raw: UnsafeRawBufferPointer, compression: BlockCompression) throws(DBError)
        -> (handle: BlockHandle, stored: BlockCompression) {
        let offset = writer.offset
        return try BlockCodec.encode(raw, compression: compression, scratch: &compressionScratch) { (payload, type) throws(DBError) in
            try writer.append(payload)
            try BlockCodec.withTrailer(payload, type) { (trailer) throws(DBError) in try writer.append(trailer) }
            return (BlockHandle(offset: offset, size: UInt64(payload.count)), type)
        }
    }

    private func addIndexEntry(_ separator: [UInt8], _ handle: BlockHandle) {
        var value = ByteWriter(capacity: BlockHandle.maxVarintEncodedBytes)
        handle.appendVarint(to: &value)
        separator.withUnsafeBytes { k in value.bytes.withUnsafeBytes { v in indexBlock.add(k, v) } }
    }

    /// The finished index block's contents.
    func finishIndex() -> [UInt8] { indexBlock.finish() }
}
