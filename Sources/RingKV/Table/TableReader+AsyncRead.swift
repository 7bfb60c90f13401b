import RingIO

extension TableReader {
    /// `readBlock` for Swift concurrency: data block `handle` read alone
    /// (the placement `readDecoded` uses: the block's pages for O_DIRECT,
    /// its exact bytes otherwise) through `ring`; the task suspends until
    /// the read completes. Then the CRC check and decode, as for a sync read.
    ///
    /// The async `get`'s miss path: one request and one buffer, no
    /// `AlignedReadPlan` — a plan's coalescing bookkeeping (arrays, a
    /// dictionary per plan) is what a batch of blocks needs, and cost a
    /// few percent of the CPU per async get when it carried one block.
    /// - Throws: `CancellationError` when the task was cancelled before the
    ///   read was submitted; `DBError`.
    func readBlockAsync(_ handle: BlockHandle, ring: AsyncReadRing) async throws -> Block {
        let read = try loneRead(handle)
        // Page-aligned memory for both kinds of file. The ring holds its
        // own reference until the kernel is done with it (forever if the
        // ring fails), so dropping ours early never frees it under a read.
        let buffer = SharedAlignedBuffer(capacity: read.lengthBytes)
        let request = ReadRequest(fd: file.fd, offset: read.start, length: read.lengthBytes, buffer: buffer.pointer)
        let done: ReadRequest
        do {
            done = try await ring.read([request], buffer: buffer)[0]
        } catch let error as IOError {
            throw DBError.io(error.at(path: path))
        }
        if let error = done.error { throw DBError.io(error.at(path: path)) }
        // The decoded block is a copy (or a decompression) out of `buffer`,
        // which the ring's batch owns with us: never taken over.
        let (storage, count) = try decodeLoneRead(read, from: UnsafeRawPointer(buffer.pointer),
                                                  bytesRead: done.bytesRead, owner: nil)
        return try Block.make(takingOwnershipOf: storage, count: count, path: path, fileOffset: handle.offset)
    }
}
