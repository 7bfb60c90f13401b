import RingIO

/// Aligned reads of a table file. Every read covers whole 4096-byte pages
/// (offset rounded down, end rounded up) into an `AlignedBuffer`, which
/// O_DIRECT requires and buffered files accept, so one code path serves both.
struct TableFileIO {
    let file: File
    let backend: any IOBackend
    let fileSizeBytes: UInt64

    var path: String { file.path }

    /// Throws unless the stored block (payload + trailer) of `handle` lies
    /// inside [0, limit).
    func check(_ handle: BlockHandle, within limit: UInt64, what: String) throws {
        let (end, overflow) = handle.offset.addingReportingOverflow(handle.sizeWithTrailer)
        guard !overflow, handle.size <= UInt64(BlockCodec.maxBlockBytes), end <= limit else {
            throw DBError.corruption(path: path, offset: handle.offset,
                                     reason: "\(what) handle \(handle) runs past its area (ends at \(limit))")
        }
    }

    /// Reads [offset, offset+length) and calls `body` with those bytes.
    func readRange<R>(offset: UInt64, length: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var result: R?
        try readSpans([(offset, length)]) { _, bytes in result = try body(bytes) }
        guard let result else { preconditionFailure("readSpans visits every span") }
        return result
    }

    /// Reads the stored bytes (payload + trailer) of every handle with one
    /// `readBatch`, then calls `body(i, stored)` in order. Handles must have
    /// been checked against the file.
    func readStored(_ handles: [BlockHandle],
                    _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        try readSpans(handles.map { ($0.offset, Int($0.sizeWithTrailer)) }, body)
    }

    private func readSpans(_ spans: [(offset: UInt64, length: Int)],
                           _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        guard !spans.isEmpty else { return }
        let alignment = UInt64(AlignedBuffer.alignment)
        var starts: [UInt64] = []
        var bufferOffsets: [Int] = []
        var total = 0
        for span in spans {
            let start = span.offset & ~(alignment - 1)
            let end = AlignedBuffer.roundUp(Int(span.offset - start) + span.length) + Int(start)
            starts.append(start)
            bufferOffsets.append(total)
            total += end - Int(start)
        }
        let buffer = AlignedBuffer(capacity: total)
        var requests: [ReadRequest] = []
        requests.reserveCapacity(spans.count)
        for i in spans.indices {
            let end = i + 1 < spans.count ? bufferOffsets[i + 1] : total
            requests.append(ReadRequest(fd: file.fd, offset: starts[i], length: end - bufferOffsets[i],
                                        buffer: buffer.pointer + bufferOffsets[i]))
        }
        do throws(IOError) { try backend.readBatch(&requests) } catch { throw DBError.io(error.at(path: path)) }
        for (i, span) in spans.enumerated() {
            if let error = requests[i].error { throw DBError.io(error.at(path: path)) }
            let skip = Int(span.offset - starts[i])
            guard requests[i].bytesRead >= skip + span.length else {
                throw DBError.corruption(path: path, offset: span.offset, reason:
                    "truncated: \(span.length) bytes wanted at offset \(span.offset), the file ends at \(starts[i] + UInt64(requests[i].bytesRead))")
            }
            // Assumes: [skip, skip + length) lies inside this request's part of `buffer` (checked just above).
            try body(i, UnsafeRawBufferPointer(start: buffer.pointer + bufferOffsets[i] + skip, count: span.length))
        }
    }
}
