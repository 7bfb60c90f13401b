#if canImport(Glibc)
import Glibc
#endif
import RingIO

// MARK: - The ring rules (applied inside `Ring`, debug builds only)
//
// A `Ring` made with a plan's hooks (`FaultHooks`: every ring of a backend
// the engine built through the plan, and the WAL's) asks them before
// io_uring_setup and before every io_uring_enter, so the rules below reach
// every ring user — the WAL's log file, the io_uring backend's pool (flush,
// compaction and table reads, `PendingReads`) and anything built on them —
// with the engine's real code running around the replaced answer:
//
// - `ringSetup` (errno, e.g. EPERM): io_uring_setup is refused, as under
//   Docker's default seccomp profile or `kernel.io_uring_disabled=2`.
// - `ringBusy` (errno EAGAIN or EBUSY): io_uring_enter takes nothing and
//   answers the errno; `Ring` must retry until everything is submitted.
// - `ringPartialSubmit`: io_uring_enter takes only half of the prepared
//   SQEs (at least one); the rest stay prepared, and a link chain may be
//   cut between the two halves.
// - `ringFailure` (errno): io_uring_enter passes every prepared SQE to the
//   kernel and then reports the errno: the ring is failed with I/O in
//   flight. The memory those SQEs point at is logged in
//   `FaultPlan.memoryInFlightAtFailures`; after the engine has handled the
//   failure (and, say, the database was closed and dropped), a test calls
//   `touchMemoryInFlightAtFailures()`, which reads every logged byte the
//   way the kernel still could. Run under AddressSanitizer
//   (`tools/test-asan`), a buffer the engine freed although the kernel may
//   still use it is then reported as a heap-use-after-free.
//
// A rule's `pathContains` matches the hooks' label (the WAL's log file
// labels its ring with the log's path; a backend's pool rings have none).
//
// `Ring` asks hooks only in debug builds: a wrapper cannot reach inside
// its submission loop, which is what these rules test, and release
// builds must carry none of it (see `IOSeam`).

extension FaultPlan.Rule {
    /// io_uring_enter takes only half of the prepared SQEs on the Nth
    /// submission of a ring (and with `sticky` every later one).
    public init(partialSubmitNth nth: Int, sticky: Bool = false, pathContains: String? = nil) {
        self.init(kind: .ringPartialSubmit, nth: nth, errno: 0, sticky: sticky, pathContains: pathContains)
    }
}

extension FaultPlan {
    /// Reads every byte of the memory logged at `ringFailure` faults (see
    /// above) and returns their sum. Under AddressSanitizer a freed range
    /// is reported; without it, the reads are harmless on memory still
    /// allocated (the point of leaking it).
    @discardableResult
    public func touchMemoryInFlightAtFailures() -> UInt64 {
        var sum: UInt64 = 0
        for range in memoryInFlightAtFailures.ranges {
            // The log holds addresses the kernel was given; if the code
            // under test kept its promise they are still allocated. The
            // bytes are read with memcpy, which AddressSanitizer checks
            // (Swift's own buffer iteration runs in the uninstrumented
            // standard library).
            guard let base = UnsafeRawPointer(bitPattern: range.address) else { continue }
            var copy = [UInt8](repeating: 0, count: range.count)
            copy.withUnsafeMutableBytes { _ = memcpy($0.baseAddress!, base, range.count) }
            for byte in copy { sum &+= UInt64(byte) }
        }
        return sum
    }
}

/// Memory ranges SQEs pointed at when a `ringFailure` fault was injected.
public final class InFlightMemoryLog: Sendable {
    public struct Range: Sendable, Equatable {
        public var address: UInt
        public var count: Int

        public init(address: UInt, count: Int) {
            self.address = address
            self.count = count
        }
    }

    private let logged = Locked<[Range]>([])

    public init() {}

    public var ranges: [Range] { logged.withLock { $0 } }

    func append(_ ranges: [Range]) { logged.withLock { $0 += ranges } }
}

#if DEBUG
/// A plan's hooks for one ring or log file (`IOSeam.hooks(label:)`): ring
/// rules and short transfers match `label` as their path; the log file's
/// operations fail as their kinds say (`write`, `fsync`, `fallocate`) and
/// tell the plan's `DurabilityTracker` what reached the log and what of it
/// was synced.
final class FaultHooks: IOHooks {
    let plan: FaultPlan
    let label: String?

    init(plan: FaultPlan, label: String?) {
        self.plan = plan
        self.label = label
    }

    func ringSetup() -> Int32? { plan.check(.ringSetup, path: label) }

    func ringEnter(submitting: Bool, readySQEs: Int) -> RingEnterFault? {
        if let code = plan.check(.ringBusy, path: label) { return .refuse(code) }
        if submitting && readySQEs >= 2 && plan.triggers(.ringPartialSubmit, path: label) { return .submitHalf }
        if let code = plan.check(.ringFailure, path: label) { return .failAfterSubmitting(code) }
        return nil
    }

    func ringFailed(memoryInFlight: [(address: UInt, count: Int)]) {
        plan.memoryInFlightAtFailures.append(memoryInFlight.map { InFlightMemoryLog.Range(address: $0.address,
                                                                                         count: $0.count) })
    }

    func transferred(isWrite: Bool, fd: Int32, moved: Int) -> Int {
        plan.shortTransfer(isWrite: isWrite, fd: fd, moved: moved, path: label)
    }

    // MARK: The log file's operations

    func append(_ log: LogFile, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError) {
        try plan.fail(.write, operation: "write", path: log.path, offset: offset)
        try log.systemAppend(bytes, at: offset)
        plan.durability.noteLogWritten(fd: log.fd, endOffset: offset + UInt64(bytes.count))
    }

    func appendAndSync(_ log: LogFile, _ group: LogFile.Group, duringIO: () -> Void) throws(IOError) {
        try plan.fail(.write, operation: "write", path: log.path, offset: group.offset)
        let end = group.offset + UInt64(group.bytes.count)
        if let code = plan.check(.fsync, path: log.path) {
            // The bytes go out, the sync "fails".
            try log.systemAppend(group.bytes, at: group.offset)
            duringIO()
            plan.durability.noteLogWritten(fd: log.fd, endOffset: end)
            throw IOError(operation: "fdatasync", errno: code, path: log.path,
                          detail: plan.isPowerCut ? "injected fault: power cut" : "injected fault")
        }
        try log.systemAppendAndSync(group, duringIO: duringIO)
        plan.durability.noteLogWritten(fd: log.fd, endOffset: end)
        plan.durability.noteLogSynced(fd: log.fd, endOffset: end)
    }

    func sync(_ log: LogFile, through endOffset: UInt64) throws(IOError) {
        try plan.fail(.fsync, operation: "fdatasync", path: log.path)
        try log.systemSync()
        plan.durability.noteLogSynced(fd: log.fd, endOffset: endOffset)
    }

    func preallocate(_ log: LogFile, offset: UInt64, length: UInt64) throws(IOError) {
        try plan.fail(.fallocate, operation: "fallocate", path: log.path, offset: offset)
        try log.systemPreallocate(offset: offset, length: length)
    }

    func truncate(_ log: LogFile, to length: UInt64) throws(IOError) {
        try plan.fail(.truncate, operation: "ftruncate", path: log.path, offset: length)
        try log.systemTruncate(to: length)
    }
}

/// Hooks that only shorten transfers, by a closure.
struct ShortTransferHooks: IOHooks {
    let hook: ShortTransferHook
    func transferred(isWrite: Bool, fd: Int32, moved: Int) -> Int { hook(isWrite, fd, moved) }
}

// MARK: - RingIO's types made with a plan (debug builds)

extension Ring {
    /// A ring that asks `faults` before io_uring_setup and every
    /// io_uring_enter; rules' `pathContains` match `faultLabel`.
    public convenience init(entries: Int = 256, faults: FaultPlan?, faultLabel: String? = nil) throws(IOError) {
        try self.init(entries: entries, hooks: faults?.hooks(label: faultLabel))
    }
}

extension URingBackend {
    /// A backend whose rings and transfers ask `faults`.
    public convenience init(ringEntries: Int = 256, faults: FaultPlan?) throws(IOError) {
        try self.init(ringEntries: ringEntries, hooks: faults?.hooks(label: nil))
    }

    /// A backend whose transfers are counted by `shortTransfers`.
    public convenience init(ringEntries: Int = 256, shortTransfers: @escaping ShortTransferHook) throws(IOError) {
        try self.init(ringEntries: ringEntries, hooks: ShortTransferHooks(hook: shortTransfers))
    }
}

extension PosixBackend {
    /// A backend whose transfers are counted by `shortTransfers`.
    public convenience init(shortTransfers: @escaping ShortTransferHook) {
        self.init(hooks: ShortTransferHooks(hook: shortTransfers))
    }
}

extension AsyncReadRing {
    /// A ring whose reads are counted by `shortTransfers`.
    public convenience init(entries: Int = 512, shortTransfers: @escaping ShortTransferHook) throws(IOError) {
        try self.init(entries: entries, hooks: ShortTransferHooks(hook: shortTransfers))
    }
}

extension IOBackends {
    /// `makeDefault` whose rings ask `faults` (a `ringSetup` rule refuses
    /// io_uring here as a container would).
    public static func makeDefault(notice: (String) -> Void, faults: FaultPlan?) -> any IOBackend {
        makeDefault(notice: notice, hooks: faults?.hooks(label: nil))
    }
}
#endif
