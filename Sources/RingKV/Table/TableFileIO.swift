import RingIO

/// Aligned reads of one table file (footer, meta blocks, data blocks). The
/// alignment and batching live in `AlignedReadPlan`, which also serves
/// reads that span several tables (batched point lookups).
package struct TableFileIO {
    package let file: File
    package let backend: any IOBackend
    package let fileSizeBytes: UInt64

    package var path: String { file.path }

    package init(file: File, backend: any IOBackend, fileSizeBytes: UInt64) {
        self.file = file
        self.backend = backend
        self.fileSizeBytes = fileSizeBytes
    }

    /// Throws unless the stored block (payload + trailer) of `handle` lies
    /// inside [0, limit).
    package func check(_ handle: BlockHandle, within limit: UInt64, what: String) throws(DBError) {
        try TableFileIO.check(handle, within: limit, what: what, path: path)
    }

    /// `check` for the table at `path` (no `TableFileIO` built on a read's path).
    static func check(_ handle: BlockHandle, within limit: UInt64, what: String,
                      path: @autoclosure () -> String) throws(DBError) {
        // The size is bounded before the trailer is added to it: a crafted
        // size near 2^64 trapped in `sizeWithTrailer`.
        let sizeOK = handle.size <= UInt64(BlockCodec.maxBlockBytes)
        let (end, overflow) = handle.offset.addingReportingOverflow(sizeOK ? handle.sizeWithTrailer : 0)
        guard sizeOK, !overflow, end <= limit else {
            throw DBError.corruption(path: path(), offset: handle.offset,
                                     reason: "\(what) handle \(handle) runs past its area (ends at \(limit))")
        }
    }

    /// Reads [offset, offset+length) and calls `body` with those bytes.
    func readRange<R>(offset: UInt64, length: Int,
                      _ body: (UnsafeRawBufferPointer) throws(DBError) -> R) throws(DBError) -> R {
        var plan = AlignedReadPlan()
        plan.add(file, offset: offset, length: length)
        return try plan.execute(backend: backend).withBytes(0, body)
    }

    /// Reads the stored bytes (payload + trailer) of every handle with one
    /// `readBatch`, then calls `body(i, stored)` in order. Handles must have
    /// been checked against the file.
    package func readStored(_ handles: [BlockHandle],
                    _ body: (Int, UnsafeRawBufferPointer) throws(DBError) -> Void) throws(DBError) {
        guard !handles.isEmpty else { return }
        var plan = AlignedReadPlan()
        for h in handles { plan.add(file, offset: h.offset, length: Int(h.sizeWithTrailer)) }
        let result = try plan.execute(backend: backend)
        for i in handles.indices { try result.withBytes(i) { (bytes) throws(DBError) in try body(i, bytes) } }
    }
}
