import RingIO

/// Appends bytes to a file through 4096-aligned chunks so the file may be
/// opened with O_DIRECT: every write starts at a multiple of the chunk size
/// (itself a multiple of 4096), covers a whole chunk, and comes from an
/// `AlignedBuffer`. Only the last write may be shorter, and `finish`
/// requires the total length to be a multiple of 4096 by then (the table
/// builder pads before the footer to make it so).
///
/// Full chunks wait until `chunksPerBatch` of them are ready and then go out
/// together (`IOBackend.writeBatchAlone`: several writes in flight on the
/// ring for an O_DIRECT file, plain `pwrite`s for a buffered one); their
/// buffers are reused afterwards.
///
/// A buffered file's batch is then handed to writeback at once
/// (`File.startWriteback`, sync_file_range): the device writes a table as
/// it is built, in 1 MiB steps, instead of all at the fsync that ends it.
/// That fsync used to wait for the whole table (64 MiB: ~60 ms and more
/// on this VM, once per compaction output and per flush), and the burst
/// queued foreground reads behind it (docs/ARCHITECTURE.md §Flush).
final class AlignedChunkWriter {
    /// One chunk of output: an aligned buffer and how much of it is filled.
    private final class Chunk {
        let buffer: AlignedBuffer
        var filledBytes = 0
        var fileOffset: UInt64 = 0
        init(capacity: Int) { buffer = AlignedBuffer(capacity: capacity) }
    }

    let file: File
    let backend: any IOBackend
    let chunkSizeBytes: Int
    let chunksPerBatch: Int
    /// Bytes appended so far (the logical end of the file).
    private(set) var offset: UInt64 = 0
    /// Bytes handed to writeback before the fsync (buffered files).
    private(set) var writebackStarted: UInt64 = 0
    private var current: Chunk
    private var full: [Chunk] = []
    private var spare: [Chunk] = []

    init(file: File, backend: any IOBackend, chunkSizeBytes: Int, chunksPerBatch: Int) {
        precondition(chunkSizeBytes > 0 && chunkSizeBytes % AlignedBuffer.alignment == 0,
                     "chunk size must be a positive multiple of \(AlignedBuffer.alignment)")
        precondition(chunksPerBatch >= 1, "at least one chunk per write batch")
        self.file = file
        self.backend = backend
        self.chunkSizeBytes = chunkSizeBytes
        self.chunksPerBatch = chunksPerBatch
        self.current = Chunk(capacity: chunkSizeBytes)
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(DBError) {
        var rest = bytes
        while !rest.isEmpty {
            let room = chunkSizeBytes - current.filledBytes
            let n = min(room, rest.count)
            // Assumes: current.filledBytes + n <= capacity (n <= room).
            (current.buffer.pointer + current.filledBytes).copyMemory(from: rest.baseAddress!, byteCount: n)
            current.filledBytes += n
            offset += UInt64(n)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if current.filledBytes == chunkSizeBytes { try retireCurrent() }
        }
    }

    func append(_ bytes: [UInt8]) throws(DBError) {
        try bytes.withBytes { (raw) throws(DBError) in try append(raw) }
    }

    /// Appends `count` zero bytes (buffers are reused, so zeros are written explicitly).
    func appendZeros(_ count: Int) throws(DBError) {
        var rest = count
        while rest > 0 {
            let n = min(chunkSizeBytes - current.filledBytes, rest)
            (current.buffer.pointer + current.filledBytes).initializeMemory(as: UInt8.self, repeating: 0, count: n)
            current.filledBytes += n
            offset += UInt64(n)
            rest -= n
            if current.filledBytes == chunkSizeBytes { try retireCurrent() }
        }
    }

    /// Writes everything still buffered. The total must be 4096-aligned.
    func finish() throws(DBError) {
        precondition(offset % UInt64(AlignedBuffer.alignment) == 0,
                     "table output must end on a \(AlignedBuffer.alignment)-byte boundary before finish")
        if current.filledBytes > 0 {
            current.fileOffset = offset - UInt64(current.filledBytes)
            full.append(current)
            current = Chunk(capacity: chunkSizeBytes)
        }
        try flushFull()
    }

    /// Drops buffered output without writing it.
    func abandon() {
        full.removeAll()
        spare.removeAll()
        current.filledBytes = 0
    }

    private func retireCurrent() throws(DBError) {
        current.fileOffset = offset - UInt64(current.filledBytes)
        full.append(current)
        current = spare.popLast() ?? Chunk(capacity: chunkSizeBytes)
        current.filledBytes = 0
        if full.count >= chunksPerBatch { try flushFull() }
    }

    private func flushFull() throws(DBError) {
        guard !full.isEmpty else { return }
        let requests = full.map { chunk in
            WriteRequest(fd: file.fd, offset: chunk.fileOffset,
                         buffer: UnsafeRawBufferPointer(start: chunk.buffer.pointer, count: chunk.filledBytes))
        }
        do throws(IOError) {
            // The chunks stay referenced by `full` until the writes return,
            // so their buffers outlive any write in flight on the ring.
            try backend.writeBatchAlone(requests, direct: file.isDirect)
            if !file.isDirect, let first = full.first, let last = full.last {
                // A hint: writeback that does not start now starts later.
                let end = last.fileOffset + UInt64(last.filledBytes)
                try? file.startWriteback(offset: first.fileOffset, length: end - first.fileOffset)
                writebackStarted += end - first.fileOffset
            }
        } catch {
            if error.memoryMayStillBeInUse {
                // The kernel may still read these chunks: they are never
                // freed or refilled (the writer is abandoned after a
                // failure anyway).
                for chunk in full { Quarantine.keep(chunk) }
                full.removeAll()
            }
            throw DBError.io(error.at(path: file.path))
        }
        for chunk in full where spare.count < chunksPerBatch {
            chunk.filledBytes = 0
            spare.append(chunk)
        }
        full.removeAll(keepingCapacity: true)
    }
}
