import RingIO

extension TableReader {
    /// `readBlock` for Swift concurrency: data block `handle` read alone
    /// (the placement `readDecoded` uses: the block's pages for O_DIRECT,
    /// its exact bytes otherwise) through `ring`; the task suspends until
    /// the read completes. Then the CRC check and decode, as for a sync read.
    ///
    /// The async `get`'s miss path: `AsyncReadRing.readLone`, one record of
    /// the ring's table and a slot of its registered buffer pool — no
    /// `AlignedReadPlan`, no buffer allocated per read. The decoded block
    /// is a copy (or a decompression) out of the slot, which goes back to
    /// the pool when this returns.
    /// - Throws: `CancellationError` when the task was cancelled before the
    ///   read was submitted; `DBError`.
    func readBlockAsync(_ handle: BlockHandle, ring: AsyncReadRing) async throws -> Block {
        let read = try plannedLoneRead(handle)
        do {
            return try await ring.readLone(fd: file.fd, offset: read.start, length: read.lengthBytes) { bytes in
                try decodedLoneBlock(read, bytes: bytes)
            }
        } catch {
            throw tableError(error)
        }
    }

    /// The read's `IOError` as a `DBError` naming this table; any other
    /// error as it is.
    @inline(never)
    private func tableError(_ error: any Error) -> any Error {
        guard let error = error as? IOError else { return error }
        return DBError.io(error.at(path: path))
    }

    // The two steps around the read, not inlined and throwing untyped
    // errors: a typed error thrown inside an async function takes a slot
    // of its frame (kept in the task's allocator while the read is in
    // flight), an untyped one a register.

    @inline(never)
    private func plannedLoneRead(_ handle: BlockHandle) throws -> LoneRead {
        try loneRead(handle)
    }

    /// The block in the bytes `read` got (a copy or a decompression).
    @inline(never)
    private func decodedLoneBlock(_ read: LoneRead, bytes: UnsafeRawBufferPointer) throws -> Block {
        guard let base = bytes.baseAddress else {
            throw DBError.corruption(path: path, offset: read.handle.offset, reason:
                "truncated: \(read.wantedBytes) bytes wanted at offset \(read.handle.offset), the file ends at \(read.start)")
        }
        let (storage, count) = try decodeLoneRead(read, from: base, bytesRead: bytes.count, owner: nil)
        return try Block.make(takingOwnershipOf: storage, count: count, path: path, fileOffset: read.handle.offset)
    }
}
