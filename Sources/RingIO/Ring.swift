#if canImport(Glibc)
import Glibc
#endif
import CRingSupport
import Synchronization

/// Flags for one submission queue entry (IOSQE_*).
public struct SQEFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The next SQE starts only after this one succeeds; if this one fails
    /// (or completes short), the rest of the chain completes with -ECANCELED.
    public static let link = SQEFlags(rawValue: RK_SQE_IO_LINK)
    public static let drain = SQEFlags(rawValue: RK_SQE_IO_DRAIN)
    /// `fd` is an index into the ring's registered files.
    public static let fixedFile = SQEFlags(rawValue: RK_SQE_FIXED_FILE)
    public static let async = SQEFlags(rawValue: RK_SQE_ASYNC)
}

/// One harvested completion: the submitter's `userData` and the kernel's
/// result (bytes transferred, or a negative errno).
public struct Completion: Sendable, Equatable {
    public var userData: UInt64
    public var result: Int32
    public init(userData: UInt64, result: Int32) {
        self.userData = userData
        self.result = result
    }
}

/// An io_uring instance: submission and completion queues, registered
/// buffers and files. Not thread-safe: one thread uses a ring at a time
/// (`URingBackend`'s pool hands rings out; the WAL writer owns one) — except that
/// a ring made with `splitRoles` may have one submitting thread and one
/// harvesting thread at once (`AsyncReadRing`).
///
/// Submission is all or nothing: `submit` returns only when the kernel has
/// taken every prepared SQE (retrying EINTR, EAGAIN/EBUSY and partial
/// submissions), or throws; `waitForCompletion` first submits what is
/// still prepared, so a wait can never wait for an SQE nobody submitted.
/// After any other io_uring_enter failure the ring is *failed*: every later
/// call throws the same error, and what it was given may still be in
/// flight (`operationsInFlight`) — its owner must then leak the memory
/// those operations use rather than free it (`Quarantine`), and never
/// reuse the ring.
public final class Ring: @unchecked Sendable {
    // @unchecked Sendable: a Ring is only ever used by the thread that holds
    // it (the pool transfers it between threads under its mutex); with
    // `splitRoles`, SQ-side state is touched only by the submitting thread
    // and CQ-side state only by the harvesting one, as io_uring allows, and
    // the shared counters are atomics.
    private let raw: OpaquePointer
    /// Number of submission queue entries.
    public let sqEntries: Int
    public let cqEntries: Int
    public let isSQPoll: Bool
    /// One thread submits while another harvests (see the type's comment):
    /// the submitting side then never touches the CQ.
    public let splitRoles: Bool
    private var userDataScratch: [UInt64]
    private var resultScratch: [Int32]
    /// Completions taken off the CQ while `submit` waited out an
    /// EAGAIN/EBUSY (to make room), handed out first by `harvest`.
    private var backlog: [Completion] = []
    /// SQEs the kernel took and whose completions were not harvested yet.
    private let inFlight = Atomic<Int>(0)
    /// Set by an io_uring_enter failure that is not retried (first one wins).
    private let failure = Locked<IOError?>(nil)
    #if DEBUG
    /// A test's hooks at io_uring_setup and every io_uring_enter (see
    /// `IOSeam`); debug builds only.
    private let hooks: (any IOHooks)?
    #endif
    /// Counts calls of `submit*` (for tests and benchmarks that show
    /// batching). Each is at most one io_uring_enter; liburing skips the
    /// syscall when an SQPOLL thread is awake, so this is an upper bound.
    public private(set) var submitCalls = 0
    /// True when the last `submit` needed more than one io_uring_enter to
    /// hand over what was prepared: a link chain (write → fsync) may have
    /// been cut in two, so the caller must not rely on the link's ordering.
    public private(set) var lastSubmitWasSplit = false

    /// - Parameters:
    ///   - entries: SQ size (the kernel rounds up to a power of two).
    ///   - sqPollIdleMillis: > 0 starts a kernel SQPOLL thread that idles
    ///     after that many ms.
    ///   - splitRoles: one thread submits while another harvests.
    public convenience init(entries: Int = 256, sqPollIdleMillis: Int = 0, splitRoles: Bool = false) throws(IOError) {
        try self.init(entries: entries, sqPollIdleMillis: sqPollIdleMillis, splitRoles: splitRoles, slot: IOHookSlot())
    }

    #if DEBUG
    /// A ring that asks `hooks` before io_uring_setup and every
    /// io_uring_enter (debug builds only; see `IOSeam`).
    package convenience init(entries: Int = 256, sqPollIdleMillis: Int = 0, splitRoles: Bool = false,
                             hooks: (any IOHooks)?) throws(IOError) {
        try self.init(entries: entries, sqPollIdleMillis: sqPollIdleMillis, splitRoles: splitRoles,
                      slot: IOHookSlot(hooks))
    }
    #endif

    init(entries: Int = 256, sqPollIdleMillis: Int = 0, splitRoles: Bool = false, slot: IOHookSlot) throws(IOError) {
        precondition(entries > 0 && entries <= 32768, "ring entries out of range")
        #if DEBUG
        if let code = slot.hooks?.ringSetup() {
            throw IOError(operation: "io_uring_setup", errno: code, detail: "injected fault")
        }
        hooks = slot.hooks
        #endif
        var err: Int32 = 0
        guard let r = rk_ring_create(UInt32(entries), UInt32(sqPollIdleMillis), &err) else {
            throw IOError(operation: "io_uring_setup", errno: err,
                          detail: sqPollIdleMillis > 0 ? "SQPOLL requested" : nil)
        }
        raw = r
        sqEntries = Int(rk_ring_sq_entries(r))
        cqEntries = Int(rk_ring_cq_entries(r))
        isSQPoll = rk_ring_is_sqpoll(r)
        self.splitRoles = splitRoles
        userDataScratch = Array(repeating: 0, count: cqEntries)
        resultScratch = Array(repeating: 0, count: cqEntries)
    }

    deinit { rk_ring_destroy(raw) }

    /// Whether io_uring can be used on this machine (0) or the errno that
    /// io_uring_setup returned (ENOSYS: no kernel support; EPERM: disabled).
    public static func probe() -> Int32 { rk_uring_probe() }

    /// SQEs the kernel took whose completions were not harvested yet. After
    /// a failure, memory these operations use must not be freed.
    public var operationsInFlight: Int { inFlight.load(ordering: .acquiring) }

    /// The error that failed this ring, if one did.
    public var failedWith: IOError? { failure.withLock { $0 } }

    public var sqSpaceLeft: Int { Int(rk_ring_sq_space_left(raw)) }
    public var sqReady: Int { Int(rk_ring_sq_ready(raw)) }
    public var cqReady: Int { Int(rk_ring_cq_ready(raw)) }
    public var ringFD: Int32 { rk_ring_fd(raw) }

    // MARK: - Preparing SQEs (each returns false when the SQ is full)

    @inline(__always)
    public func prepNop(userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_nop(raw, userData, flags.rawValue)
    }

    @inline(__always)
    public func prepRead(fd: Int32, buffer: UnsafeMutableRawPointer, length: Int, offset: UInt64,
                         userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_read(raw, fd, buffer, UInt32(length), offset, userData, flags.rawValue)
    }

    @inline(__always)
    public func prepWrite(fd: Int32, buffer: UnsafeRawPointer, length: Int, offset: UInt64,
                          userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_write(raw, fd, buffer, UInt32(length), offset, userData, flags.rawValue)
    }

    /// The iovec array must stay alive and unchanged until the completion.
    public func prepReadv(fd: Int32, iovecs: UnsafePointer<iovec>, count: Int, offset: UInt64,
                          userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_readv(raw, fd, iovecs, UInt32(count), offset, userData, flags.rawValue)
    }

    public func prepWritev(fd: Int32, iovecs: UnsafePointer<iovec>, count: Int, offset: UInt64,
                           userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_writev(raw, fd, iovecs, UInt32(count), offset, userData, flags.rawValue)
    }

    /// `buffer` must lie inside registered buffer `bufferIndex`.
    @inline(__always)
    public func prepReadFixed(fd: Int32, buffer: UnsafeMutableRawPointer, length: Int, offset: UInt64,
                              bufferIndex: Int, userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_read_fixed(raw, fd, buffer, UInt32(length), offset, Int32(bufferIndex), userData, flags.rawValue)
    }

    /// `buffer` must lie inside registered buffer `bufferIndex`.
    @inline(__always)
    public func prepWriteFixed(fd: Int32, buffer: UnsafeRawPointer, length: Int, offset: UInt64,
                               bufferIndex: Int, userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_write_fixed(raw, fd, buffer, UInt32(length), offset, Int32(bufferIndex), userData, flags.rawValue)
    }

    /// fsync, or fdatasync when `dataOnly` (IORING_FSYNC_DATASYNC).
    @inline(__always)
    public func prepFsync(fd: Int32, dataOnly: Bool, userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_fsync(raw, fd, dataOnly ? RK_FSYNC_DATASYNC : 0, userData, flags.rawValue)
    }

    public func prepFallocate(fd: Int32, mode: Int32 = 0, offset: UInt64, length: UInt64,
                              userData: UInt64, flags: SQEFlags = []) -> Bool {
        rk_prep_fallocate(raw, fd, mode, offset, length, userData, flags.rawValue)
    }

    // MARK: - Submitting

    /// How many times in a row io_uring_enter may take nothing (EAGAIN,
    /// EBUSY) before `submit` gives up and fails the ring: with a pause of
    /// up to 1 ms between attempts, about a second of a kernel that keeps
    /// refusing.
    static let maxRefusals = 1000

    /// Submits everything prepared and returns how many SQEs that was. Returns
    /// only when the kernel took all of them: retries EINTR; resubmits the
    /// rest of a partial submission; on EAGAIN/EBUSY makes room — takes
    /// ready completions off the CQ into a backlog `harvest` hands out
    /// first, or waits for one when the CQ is empty and I/O is in flight
    /// (a harvesting thread does that itself with `splitRoles`) — and tries
    /// again, up to `maxRefusals` times. Throws (and fails the ring) on
    /// any other error.
    @discardableResult
    public func submit() throws(IOError) -> Int {
        try submitAll(waitCount: 0)
    }

    /// Submits everything prepared (as `submit`) and waits until at least
    /// `waitCount` completions are ready (or in the backlog).
    @discardableResult
    public func submitAndWait(_ waitCount: Int) throws(IOError) -> Int {
        try submitAll(waitCount: waitCount)
    }

    /// Blocks until at least one completion is ready. Submits whatever is
    /// still prepared first (a harvesting thread of a `splitRoles` ring
    /// leaves that to the submitting thread).
    public func waitForCompletion() throws(IOError) {
        if !splitRoles {
            if sqReady > 0 { _ = try submitAll(waitCount: 1); return }
            if !backlog.isEmpty { return }
        }
        try checkNotFailed()
        BlockingCheck.willBlock("io_uring wait")
        var refusals = 0
        while true {
            let rc = hooked(submitting: false) ?? rk_ring_wait(raw)
            if rc == 0 { return }
            switch -rc {
            case EINTR: continue
            case EAGAIN, EBUSY:
                refusals += 1
                if refusals > Ring.maxRefusals { throw fail(IOError(operation: "io_uring_wait_cqe", errno: -rc)) }
                if !splitRoles { stashCompletions() }
                if !backlog.isEmpty || cqReady > 0 { return }
                pause(refusals)
            default:
                throw fail(IOError(operation: "io_uring_wait_cqe", errno: -rc))
            }
        }
    }

    private func submitAll(waitCount: Int) throws(IOError) -> Int {
        try checkNotFailed()
        if waitCount > 0 { BlockingCheck.willBlock("io_uring submit and wait") }
        var submitted = 0
        var enters = 0
        var refusals = 0
        defer { lastSubmitWasSplit = enters > 1 && submitted > 0 }
        while true {
            let ready = sqReady
            // Completion-side state is read only when waiting: with
            // `splitRoles` the submitter (waitCount 0) must not touch it
            // while the harvesting thread advances the CQ head.
            let missing = waitCount > 0 ? waitCount - backlog.count - cqReady : 0
            if ready == 0 && missing <= 0 { return submitted }
            submitCalls += 1
            if ready > 0 { enters += 1 }
            // With nothing left to submit this only waits.
            let rc = hooked(submitting: ready > 0, ready: ready)
                ?? (missing > 0 ? rk_ring_submit_and_wait(raw, UInt32(missing)) : rk_ring_submit(raw))
            if rc > 0 {
                submitted += Int(rc)
                inFlight.add(Int(rc), ordering: .releasing)
                refusals = 0
                // SQPOLL: liburing reports what it queued for the poller,
                // which takes it without an io_uring_enter.
                if isSQPoll && missing <= 0 { return submitted }
                continue
            }
            if rc == 0 && (ready == 0 || isSQPoll) { continue }  // waited (or queued for the poller)
            if rc < 0 && -rc == EINTR { continue }
            if rc < 0 && -rc != EAGAIN && -rc != EBUSY {
                throw fail(IOError(operation: "io_uring_enter", errno: -rc))
            }
            // EAGAIN: the kernel is short of something completions free;
            // EBUSY: the CQ (or its overflow list) is full; 0 with SQEs
            // ready: it took nothing without saying why. Make room, retry.
            refusals += 1
            if refusals > Ring.maxRefusals {
                throw fail(IOError(operation: "io_uring_enter", errno: rc == 0 ? EAGAIN : -rc,
                                   detail: "the kernel refused \(Ring.maxRefusals) times in a row"))
            }
            if !splitRoles {
                stashCompletions()
                if backlog.isEmpty && operationsInFlight > 0 {
                    // Nothing ready yet: wait for a completion (an enter
                    // that submits nothing needs no SQ resources).
                    let waited = hooked(submitting: false) ?? rk_ring_wait(raw)
                    if waited < 0 && -waited != EINTR && -waited != EAGAIN && -waited != EBUSY {
                        throw fail(IOError(operation: "io_uring_wait_cqe", errno: -waited))
                    }
                    stashCompletions()
                    continue
                }
            }
            pause(refusals)
        }
    }

    /// Moves every ready completion into the backlog (frees CQ slots).
    private func stashCompletions() {
        harvestFromCQ { backlog.append($0) }
    }

    /// Yields, then sleeps up to 1 ms, between refused attempts.
    private func pause(_ attempt: Int) {
        if attempt < 8 {
            sched_yield()
        } else {
            var request = timespec(tv_sec: 0, tv_nsec: min(attempt, 1000) * 1000)
            nanosleep(&request, nil)
        }
    }

    private func checkNotFailed() throws(IOError) {
        if let failedWith { throw failedWith }
    }

    /// Records `error` as the ring's failure (the first one stays).
    private func fail(_ error: IOError) -> IOError {
        failure.withLock { if $0 == nil { $0 = error } }
        return failedWith ?? error
    }

    /// Debug builds: a test's hooks may replace one io_uring_enter (see
    /// `IOSeam`). nil lets the real call through; otherwise the return code
    /// to report instead (for `submitHalf` and `failAfterSubmitting`, after
    /// really submitting part or all of the SQEs). Always nil in release
    /// builds.
    @inline(__always)
    private func hooked(submitting: Bool, ready: Int = 0) -> Int32? {
        #if DEBUG
        guard let fault = hooks?.ringEnter(submitting: submitting, readySQEs: ready) else { return nil }
        switch fault {
        case .refuse(let code):
            return -code
        case .submitHalf:
            return submitting && ready >= 2 ? rk_ring_submit_limited(raw, UInt32(ready / 2)) : nil
        case .failAfterSubmitting(let code):
            if submitting {
                hooks?.ringFailed(memoryInFlight: pendingRanges())
                let rc = rk_ring_submit(raw)
                if rc > 0 { inFlight.add(Int(rc), ordering: .releasing) }
            }
            return -code
        }
        #else
        return nil
        #endif
    }

    #if DEBUG
    /// The memory the not yet consumed SQEs point at.
    private func pendingRanges() -> [(address: UInt, count: Int)] {
        let capacity = 4 * sqEntries
        var addresses = [UInt](repeating: 0, count: capacity)
        var lengths = [Int](repeating: 0, count: capacity)
        let n = addresses.withUnsafeMutableBufferPointer { a in
            lengths.withUnsafeMutableBufferPointer { l in
                // UInt and Int have the layouts of uintptr_t and size_t.
                Int(rk_ring_pending_ranges(raw, a.baseAddress, UnsafeMutableRawPointer(l.baseAddress!)
                    .assumingMemoryBound(to: Int.self), UInt32(capacity)))
            }
        }
        return (0..<n).map { (addresses[$0], lengths[$0]) }
    }
    #endif

    // MARK: - Harvesting

    /// Hands every ready completion to `body` (the backlog first, then the
    /// CQ in batches: peek many, then advance the CQ once) and returns how
    /// many there were.
    @discardableResult
    public func harvest(_ body: (Completion) throws -> Void) rethrows -> Int {
        var total = 0
        if !backlog.isEmpty {
            let stashed = backlog
            backlog.removeAll(keepingCapacity: true)
            inFlight.subtract(stashed.count, ordering: .relaxed)
            for c in stashed { try body(c) }
            total = stashed.count
        }
        return try total + harvestFromCQ(body, countAsHarvested: true)
    }

    @discardableResult
    private func harvestFromCQ(_ body: (Completion) throws -> Void, countAsHarvested: Bool = false) rethrows -> Int {
        var total = 0
        while true {
            let n = userDataScratch.withUnsafeMutableBufferPointer { ud in
                resultScratch.withUnsafeMutableBufferPointer { res in
                    Int(rk_ring_harvest(raw, ud.baseAddress!, res.baseAddress!, UInt32(ud.count)))
                }
            }
            if n == 0 { return total }
            if countAsHarvested { inFlight.subtract(n, ordering: .relaxed) }
            for i in 0..<n {
                try body(Completion(userData: userDataScratch[i], result: resultScratch[i]))
            }
            total += n
        }
    }

    // MARK: - Registration

    /// Registers buffers for read_fixed/write_fixed (pins their pages).
    public func registerBuffers(_ buffers: [UnsafeMutableRawBufferPointer]) throws(IOError) {
        let iovecs = buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        let rc = iovecs.withUnsafeBufferPointer { rk_ring_register_buffers(raw, $0.baseAddress, UInt32($0.count)) }
        if rc < 0 { throw IOError(operation: "io_uring_register_buffers", errno: -rc) }
    }

    public func unregisterBuffers() throws(IOError) {
        let rc = rk_ring_unregister_buffers(raw)
        if rc < 0 { throw IOError(operation: "io_uring_unregister_buffers", errno: -rc) }
    }

    /// Registers file descriptors; SQEs with `.fixedFile` then pass the
    /// index into this array as their `fd`.
    public func registerFiles(_ fds: [Int32]) throws(IOError) {
        let rc = fds.withUnsafeBufferPointer { rk_ring_register_files(raw, $0.baseAddress, UInt32($0.count)) }
        if rc < 0 { throw IOError(operation: "io_uring_register_files", errno: -rc) }
    }

    public func unregisterFiles() throws(IOError) {
        let rc = rk_ring_unregister_files(raw)
        if rc < 0 { throw IOError(operation: "io_uring_unregister_files", errno: -rc) }
    }
}
