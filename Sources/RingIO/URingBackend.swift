import CRingSupport
#if canImport(Glibc)
import Glibc
#endif

/// The io_uring backend. Each call borrows a ring from a small pool, so
/// many threads can have I/O in flight at once without sharing a ring.
public final class URingBackend: IOBackend {
    public let name = "io_uring"
    public var usesIOUring: Bool { true }
    public let ringEntries: Int
    /// Rings not in use right now; guarded by the mutex.
    private let idle = Locked<[Ring]>([])
    /// Each scanning table iterator may hold a ring while its prefetch is
    /// in flight, so a scan over many tables borrows many rings at once;
    /// keeping up to 64 idle (about 40 KiB each at 256 entries) saves
    /// creating and tearing down rings per prefetch.
    private let maxIdleRings = 64

    /// A test's hooks, handed to every ring and transfer loop (debug builds
    /// only; see `IOSeam`).
    let slot: IOHookSlot

    /// How a foreground thread's read waits for its completion (nil: it
    /// sleeps at once; see `CompletionPoll` and `Options.readPollMicros`).
    package let readPoll: CompletionPoll?

    public convenience init(ringEntries: Int = 256, readPollMicros: Int = 0) throws(IOError) {
        try self.init(ringEntries: ringEntries, readPollMicros: readPollMicros, slot: IOHookSlot())
    }

    #if DEBUG
    /// A backend whose rings and transfers ask `hooks` (debug builds only;
    /// see `IOSeam`).
    package convenience init(ringEntries: Int = 256, readPollMicros: Int = 0,
                             hooks: (any IOHooks)?) throws(IOError) {
        try self.init(ringEntries: ringEntries, readPollMicros: readPollMicros, slot: IOHookSlot(hooks))
    }
    #endif

    init(ringEntries: Int, readPollMicros: Int = 0, slot: IOHookSlot) throws(IOError) {
        self.ringEntries = ringEntries
        readPoll = readPollMicros > 0 ? CompletionPoll(budgetNanos: UInt64(readPollMicros) * 1000) : nil
        self.slot = slot
        // Fail now, not on the first read, when io_uring is unusable.
        let first = try Ring(entries: ringEntries, slot: slot)
        idle.withLock { $0.append(first) }
    }

    /// Runs `body` with a ring nobody else is using.
    public func withRing<R>(_ body: (Ring) throws(IOError) -> R) throws(IOError) -> R {
        let ring = try takeRing()
        // A ring whose operation failed may still have requests in flight
        // or completions queued: it is never handed to the next user. With
        // operations in flight it is kept forever (their buffers are the
        // caller's to keep: see Ring's comment).
        do {
            let result = try body(ring)
            recycle(ring)
            return result
        } catch {
            guard ring.operationsInFlight > 0 else { throw error }
            Quarantine.keep(ring)
            var inFlight = error
            inFlight.memoryMayStillBeInUse = true
            throw inFlight
        }
    }

    /// A ring from the pool, or a new one when every pooled ring is busy.
    func takeRing() throws(IOError) -> Ring {
        if let pooled = idle.withLock({ $0.popLast() }) { return pooled }
        return try Ring(entries: ringEntries, slot: slot)
    }

    /// Returns a ring with nothing in flight and an empty CQ to the pool.
    func recycle(_ ring: Ring) {
        idle.withLock { rings in
            if rings.count < maxIdleRings { rings.append(ring) }
        }
    }

    /// Submits the reads on a ring of the pool and returns at once; the
    /// ring stays with the handle until it is harvested or drained.
    public func submitReads(_ requests: [ReadRequest], buffer: SharedAlignedBuffer) throws(IOError) -> PendingReads {
        for r in requests {
            precondition(buffer.contains(r.buffer, length: r.length), "submitReads: a request points outside its buffer")
        }
        if requests.isEmpty { return PendingReads(completed: [], buffer: buffer) }
        return PendingReads(submitting: requests, buffer: buffer, on: try takeRing(), backend: self)
    }

    public func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(IOError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var transfers = [Transfer(isWrite: false, fd: fd, buffer: base, length: buffer.count, offset: offset)]
        try withRing { ring throws(IOError) in try ring.run(&transfers, slot: slot, poll: readPoll) }
        if let error = transfers[0].error { throw error }
        return transfers[0].done
    }

    /// A lone buffered read is a plain pread: from the page cache it costs
    /// one syscall either way, and io_uring's round trip adds its own work
    /// (iobench, queue depth 1, buffered 4 KiB reads, four alternating
    /// rounds: pread 22.8k reads/s at 16.2 µs CPU each, io_uring 19.9k at
    /// 20.2 µs; docs/ARCHITECTURE.md §Block cache and batched reads). An
    /// O_DIRECT read, where io_uring measured even, stays on the ring.
    public func readAlone(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64,
                          direct: Bool) throws(IOError) -> Int {
        if direct { return try read(fd: fd, into: buffer, offset: offset) }
        if readPoll != nil && !rk_thread_is_background() {
            return try readCachedOrPolling(fd: fd, into: buffer, offset: offset)
        }
        return try PosixBackend.preadFully(fd: fd, into: buffer, offset: offset, slot: slot)
    }

    /// A foreground thread's lone buffered read: what the page cache holds
    /// comes from one preadv2(RWF_NOWAIT), as cheap as a pread; the rest
    /// goes through the ring, whose completion the thread polls for
    /// (`readPoll`) instead of sleeping in pread while the device reads
    /// the missing pages.
    private func readCachedOrPolling(fd: Int32, into buffer: UnsafeMutableRawBufferPointer,
                                     offset: UInt64) throws(IOError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = rk_pread_nowait(fd, base, buffer.count, offset)
        if n < 0 && -n != Int(EAGAIN) {
            // No RWF_NOWAIT here (EOPNOTSUPP) or a real error: the plain
            // read reports it, or reads.
            return try PosixBackend.preadFully(fd: fd, into: buffer, offset: offset, slot: slot)
        }
        let cached = n > 0 ? slot.transferred(isWrite: false, fd: fd, moved: n) : 0
        if n == 0 || cached == buffer.count { return cached }  // end of file, or all cached
        let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[cached...])
        return try cached + read(fd: fd, into: rest, offset: offset + UInt64(cached))
    }

    public func write(fd: Int32, from buffer: UnsafeRawBufferPointer, offset: UInt64) throws(IOError) {
        try writeBatch([WriteRequest(fd: fd, offset: offset, buffer: buffer)])
    }

    /// Buffered: plain `pwrite`s. ext4 has no non-blocking buffered write,
    /// so io_uring hands each one to an io-wq worker thread — threads that
    /// compete with the clients for the CPU while a flush or compaction
    /// writes its table (docs/ARCHITECTURE.md §Flush). O_DIRECT: the ring.
    public func writeBatchAlone(_ requests: [WriteRequest], direct: Bool) throws(IOError) {
        if direct { return try writeBatch(requests) }
        for r in requests {
            try PosixBackend.pwriteFully(fd: r.fd, from: r.buffer, offset: r.offset, slot: slot)
        }
    }

    public func writeBatch(_ requests: [WriteRequest]) throws(IOError) {
        var transfers = requests.compactMap { r -> Transfer? in
            guard let base = r.buffer.baseAddress, r.buffer.count > 0 else { return nil }
            return Transfer(isWrite: true, fd: r.fd, buffer: UnsafeMutableRawPointer(mutating: base),
                            length: r.buffer.count, offset: r.offset)
        }
        try withRing { ring throws(IOError) in try ring.run(&transfers, slot: slot) }
        if let error = transfers.lazy.compactMap(\.error).first { throw error }
    }

    public func readBatch(_ requests: inout [ReadRequest]) throws(IOError) {
        var transfers = requests.map {
            Transfer(isWrite: false, fd: $0.fd, buffer: $0.buffer, length: $0.length, offset: $0.offset)
        }
        try withRing { ring throws(IOError) in try ring.run(&transfers, slot: slot, poll: readPoll) }
        for i in requests.indices {
            requests[i].bytesRead = transfers[i].done
            requests[i].error = transfers[i].error
        }
    }

    public func sync(fd: Int32, dataOnly: Bool) throws(IOError) {
        _ = try withRing { ring throws(IOError) in
            try ring.runSingle(dataOnly ? "io_uring fdatasync" : "io_uring fsync") {
                $0.prepFsync(fd: fd, dataOnly: dataOnly, userData: Ring.singleUserData)
            }
        }
    }

    public func preallocate(fd: Int32, offset: UInt64, length: UInt64) throws(IOError) {
        _ = try withRing { ring throws(IOError) in
            try ring.runSingle("io_uring fallocate") {
                $0.prepFallocate(fd: fd, offset: offset, length: length, userData: Ring.singleUserData)
            }
        }
    }
}
