import RingIO

/// Byte ranges of one or more table files, read with ONE `readBatch`.
///
/// A request of an O_DIRECT file covers whole units of the file's
/// `directReadAlignment` (offset rounded down, end rounded up) at a
/// page-aligned place in one shared `AlignedBuffer`, as O_DIRECT
/// requires; a buffered file's request covers exactly its ranges. One code path serves both.
/// Ranges of the same file added in increasing order that touch or share a
/// page are coalesced into one request of at most `maxRequestBytes`
/// (adjacent blocks of a scan become one large read; a page two blocks
/// share is read once). Larger stretches are split into several requests,
/// which the io_uring backend keeps in flight together.
///
/// Usage: `add` ranges, `execute` once, then `withBytes(i)` per range.
struct AlignedReadPlan {
    /// One wanted range: `length` bytes at `offset` of `file`, found
    /// `skip` bytes into request `request`.
    struct Span {
        let file: File
        let offset: UInt64
        let length: Int
        let request: Int
        let skip: Int
    }

    /// One aligned read: [start, end) of `file`.
    struct Request {
        let file: File
        let start: UInt64
        var end: UInt64
        var lengthBytes: Int { Int(end - start) }
    }

    /// Default upper bound of one coalesced request.
    static let defaultMaxRequestBytes = 128 << 10

    let maxRequestBytes: Int
    private(set) var spans: [Span] = []
    private(set) var requests: [Request] = []
    /// The newest request of each file: the only one a new range may extend.
    private var lastRequestOfFile: [ObjectIdentifier: Int] = [:]

    init(maxRequestBytes: Int = AlignedReadPlan.defaultMaxRequestBytes) {
        precondition(maxRequestBytes >= AlignedBuffer.alignment, "requests hold at least one page")
        self.maxRequestBytes = maxRequestBytes
    }

    var isEmpty: Bool { spans.isEmpty }

    /// Adds [offset, offset + length) of `file` and returns its span index.
    /// The caller has checked the range against the file's layout.
    @discardableResult
    mutating func add(_ file: File, offset: UInt64, length: Int) -> Int {
        precondition(length >= 0, "read length must be non-negative")
        // O_DIRECT needs aligned ranges (`File.directReadAlignment`: 512
        // bytes on most devices, else a page); a buffered file is read at
        // the exact range, so the kernel copies only the bytes wanted (a
        // 4 KiB block usually straddles two pages).
        let (start, end) = file.readSpan(offset: offset, length: length)
        let id = ObjectIdentifier(file)
        let request: Int
        if let r = lastRequestOfFile[id], start >= requests[r].start, start <= requests[r].end,
           Int(max(end, requests[r].end) - requests[r].start) <= maxRequestBytes {
            requests[r].end = max(requests[r].end, end)
            request = r
        } else {
            requests.append(Request(file: file, start: start, end: end))
            request = requests.count - 1
            lastRequestOfFile[id] = request
        }
        spans.append(Span(file: file, offset: offset, length: length, request: request,
                          skip: Int(offset - requests[request].start)))
        return spans.count - 1
    }

    /// Submits every request with one `backend.readBatch` (none when the
    /// plan is empty) and returns the bytes. A failed or short request is
    /// reported by `withBytes` for the spans it holds, so one bad block does
    /// not hide the others.
    func execute(backend: any IOBackend) throws(DBError) -> AlignedReadResult {
        let (buffer, bufferOffsets, requestsToRead) = prepare()
        var reads = requestsToRead
        if !reads.isEmpty {
            do throws(IOError) {
                // `buffer` is owned here until the read(s) returned, so every
                // request's memory outlives its read.
                if reads.count == 1 {
                    // One request waits alone: the backend's cheapest single
                    // read (pread for a buffered file, see `readAlone`).
                    try IOBackends.readAlone(&reads[0], backend: backend, direct: requests[0].file.isDirect)
                } else {
                    try backend.readBatch(&reads)
                }
            } catch {
                // The kernel may still write into `buffer`: never free it.
                if error.memoryMayStillBeInUse { Quarantine.keep(buffer) }
                throw wrap(error)
            }
        }
        return AlignedReadResult(buffer: buffer, bufferOffsets: bufferOffsets, reads: reads, spans: spans)
    }

    /// `execute` for Swift concurrency: the reads go to `ring` (one shared
    /// ring and completion thread, `AsyncReadRing`) and the task suspends
    /// until the last completes; no thread waits. Buffered and O_DIRECT
    /// requests alike.
    /// - Throws: `CancellationError` when the task was cancelled before the
    ///   reads were submitted; `DBError.io` when the ring failed.
    func executeAsync(ring: AsyncReadRing) async throws -> AlignedReadResult {
        let (buffer, bufferOffsets, requests) = prepare()
        let reads: [ReadRequest]
        do {
            // The ring holds `buffer` until the kernel is done with it, and
            // keeps it forever if the ring fails.
            reads = try await ring.read(requests, buffer: buffer)
        } catch let error as IOError {
            throw wrap(error)
        }
        return AlignedReadResult(buffer: buffer, bufferOffsets: bufferOffsets, reads: reads, spans: spans)
    }

    /// Submits every request with one `backend.submitReads` and returns
    /// without waiting; `PendingAlignedRead.wait()` gives the same result
    /// `execute` would have. The pending read owns the buffer, so dropping
    /// it unharvested is safe (it drains).
    func submit(backend: any IOBackend) throws(DBError) -> PendingAlignedRead {
        let (buffer, bufferOffsets, reads) = prepare()
        let pending: PendingReads
        do throws(IOError) {
            pending = try backend.submitReads(reads, buffer: buffer)
        } catch {
            throw wrap(error)
        }
        return PendingAlignedRead(plan: self, pending: pending, buffer: buffer, bufferOffsets: bufferOffsets)
    }

    /// One aligned buffer for all requests and a `ReadRequest` per request.
    private func prepare() -> (SharedAlignedBuffer, [Int], [ReadRequest]) {
        var bufferOffsets: [Int] = []
        bufferOffsets.reserveCapacity(requests.count)
        var total = 0
        for r in requests {
            // O_DIRECT memory must be page aligned; buffered reads need not be.
            total = AlignedBuffer.roundUp(total, to: r.file.isDirect ? AlignedBuffer.alignment : 16)
            bufferOffsets.append(total)
            total += r.lengthBytes
        }
        let buffer = SharedAlignedBuffer(capacity: total)
        var reads: [ReadRequest] = []
        reads.reserveCapacity(requests.count)
        for (i, r) in requests.enumerated() {
            reads.append(ReadRequest(fd: r.file.fd, offset: r.start, length: r.lengthBytes,
                                     buffer: buffer.pointer + bufferOffsets[i]))
        }
        return (buffer, bufferOffsets, reads)
    }

    /// A failure of the whole batch, with the path when it read one file.
    fileprivate func wrap(_ error: IOError) -> DBError {
        let paths = Set(requests.map(\.file.path))
        if paths.count == 1, let path = paths.first { return DBError.io(error.at(path: path)) }
        return DBError.io(error)
    }
}

/// An `AlignedReadPlan` whose reads are in flight (`AlignedReadPlan.submit`).
/// Dropping it before `wait()` waits for the reads (never frees memory a
/// read may still write).
final class PendingAlignedRead {
    private let plan: AlignedReadPlan
    private let pending: PendingReads
    private let buffer: SharedAlignedBuffer
    private let bufferOffsets: [Int]
    private var result: AlignedReadResult?

    fileprivate init(plan: AlignedReadPlan, pending: PendingReads, buffer: SharedAlignedBuffer, bufferOffsets: [Int]) {
        self.plan = plan
        self.pending = pending
        self.buffer = buffer
        self.bufferOffsets = bufferOffsets
    }

    /// Whether `wait()` would return without blocking.
    var isComplete: Bool { pending.isComplete }

    /// Blocks until every read completed and returns the bytes; idempotent.
    func wait() throws(DBError) -> AlignedReadResult {
        if let result { return result }
        let reads: [ReadRequest]
        do throws(IOError) {
            reads = try pending.wait()
        } catch {
            throw plan.wrap(error)
        }
        let r = AlignedReadResult(buffer: buffer, bufferOffsets: bufferOffsets, reads: reads, spans: plan.spans)
        result = r
        return r
    }
}

/// The bytes an executed `AlignedReadPlan` read. Holds the aligned buffer;
/// bytes lent by `withBytes` are valid only inside its closure.
final class AlignedReadResult {
    private let buffer: SharedAlignedBuffer
    private let bufferOffsets: [Int]
    private let reads: [ReadRequest]
    let spans: [AlignedReadPlan.Span]

    fileprivate init(buffer: SharedAlignedBuffer, bufferOffsets: [Int], reads: [ReadRequest],
                     spans: [AlignedReadPlan.Span]) {
        self.buffer = buffer
        self.bufferOffsets = bufferOffsets
        self.reads = reads
        self.spans = spans
    }

    /// Number of `ReadRequest`s the batch carried.
    var requestCount: Int { reads.count }

    /// Calls `body` with the bytes of span `index`, after checking that its
    /// request succeeded and reached the span's end (a read stops short
    /// only at end of file: the table is truncated).
    func withBytes<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws(DBError) -> R) throws(DBError) -> R {
        let span = spans[index]
        let read = reads[span.request]
        let path = span.file.path
        if let error = read.error { throw DBError.io(error.at(path: path)) }
        guard read.bytesRead >= span.skip + span.length else {
            throw DBError.corruption(path: path, offset: span.offset, reason:
                "truncated: \(span.length) bytes wanted at offset \(span.offset), "
                + "the file ends at \(read.offset + UInt64(read.bytesRead))")
        }
        // Assumes: [skip, skip + length) lies inside this request's part of
        // `buffer` (the request covers the span; bytesRead checked above).
        return try body(UnsafeRawBufferPointer(start: buffer.pointer + bufferOffsets[span.request] + span.skip,
                                               count: span.length))
    }
}
