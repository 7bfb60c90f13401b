#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

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
/// (the `RingPool` hands rings out; the WAL writer owns one).
public final class Ring: @unchecked Sendable {
    // @unchecked Sendable: a Ring is only ever used by the thread that holds
    // it; the pool transfers it between threads under its mutex.
    private let raw: OpaquePointer
    /// Number of submission queue entries.
    public let sqEntries: Int
    public let cqEntries: Int
    public let isSQPoll: Bool
    private var userDataScratch: [UInt64]
    private var resultScratch: [Int32]
    /// Counts calls of `submit*` (for tests and benchmarks that show
    /// batching). Each is at most one io_uring_enter; liburing skips the
    /// syscall when an SQPOLL thread is awake, so this is an upper bound.
    public private(set) var submitCalls = 0

    /// - Parameters:
    ///   - entries: SQ size (the kernel rounds up to a power of two).
    ///   - sqPollIdleMillis: > 0 starts a kernel SQPOLL thread that idles
    ///     after that many ms.
    public init(entries: Int = 256, sqPollIdleMillis: Int = 0) throws(IOError) {
        precondition(entries > 0 && entries <= 32768, "ring entries out of range")
        var err: Int32 = 0
        guard let r = rk_ring_create(UInt32(entries), UInt32(sqPollIdleMillis), &err) else {
            throw IOError(operation: "io_uring_setup", errno: err,
                          detail: sqPollIdleMillis > 0 ? "SQPOLL requested" : nil)
        }
        raw = r
        sqEntries = Int(rk_ring_sq_entries(r))
        cqEntries = Int(rk_ring_cq_entries(r))
        isSQPoll = rk_ring_is_sqpoll(r)
        userDataScratch = Array(repeating: 0, count: cqEntries)
        resultScratch = Array(repeating: 0, count: cqEntries)
    }

    deinit { rk_ring_destroy(raw) }

    /// Whether io_uring can be used on this machine (0) or the errno that
    /// io_uring_setup returned (ENOSYS: no kernel support; EPERM: disabled).
    public static func probe() -> Int32 { rk_uring_probe() }

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

    /// Submits everything prepared; one io_uring_enter (none with SQPOLL when
    /// the poller is awake). Retries EINTR; on EAGAIN/EBUSY (completion queue
    /// full) the caller must harvest and call again, so those come back as 0.
    @discardableResult
    public func submit() throws(IOError) -> Int {
        try enter { rk_ring_submit(raw) }
    }

    /// Submits and waits until at least `waitCount` completions are ready.
    @discardableResult
    public func submitAndWait(_ waitCount: Int) throws(IOError) -> Int {
        try enter { rk_ring_submit_and_wait(raw, UInt32(waitCount)) }
    }

    private func enter(_ call: () -> Int32) throws(IOError) -> Int {
        while true {
            submitCalls += 1
            let rc = call()
            if rc >= 0 { return Int(rc) }
            switch -rc {
            case EINTR: continue
            case EAGAIN, EBUSY: return 0
            default: throw IOError(operation: "io_uring_enter", errno: -rc)
            }
        }
    }

    /// Blocks until at least one completion is ready.
    public func waitForCompletion() throws(IOError) {
        while true {
            let rc = rk_ring_wait(raw)
            if rc == 0 { return }
            if -rc == EINTR || -rc == EAGAIN { continue }
            throw IOError(operation: "io_uring_wait_cqe", errno: -rc)
        }
    }

    // MARK: - Harvesting

    /// Hands every ready completion to `body` (in batches: peek many, then
    /// advance the CQ once) and returns how many there were.
    @discardableResult
    public func harvest(_ body: (Completion) throws -> Void) rethrows -> Int {
        var total = 0
        while true {
            let n = userDataScratch.withUnsafeMutableBufferPointer { ud in
                resultScratch.withUnsafeMutableBufferPointer { res in
                    Int(rk_ring_harvest(raw, ud.baseAddress!, res.baseAddress!, UInt32(ud.count)))
                }
            }
            if n == 0 { return total }
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
