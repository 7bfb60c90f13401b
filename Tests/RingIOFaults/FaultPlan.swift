#if canImport(Glibc)
import Glibc
#endif
import CRingSupport
import RingIO

/// Test-only fault injection: "fail the Nth operation of a kind with this
/// errno" (or hold it up for a while). The engine's real code path runs;
/// only the result an operation reports is replaced, at the boundary where
/// the kernel's answer arrives. A plan is the engine's `IOSeam`
/// (`Options.ioSeam`): it wraps the engine's backend in a
/// `FaultInjectingBackend`, and in debug builds its `FaultHooks` stand in
/// for the WAL's `LogFile` operations and sit inside every `Ring`
/// (RingFaults.swift). This target is no product: nothing of it ships.
///
/// The plan also tracks what the engine made durable (`durability`), so a
/// test can simulate a power loss: `simulateCrash` keeps only synced bytes
/// and directory entries (CrashSimulation.swift). `cutPower(afterMutations:)`
/// picks the moment: from then on every operation that would change the
/// disk fails, as if the machine had stopped there.
public final class FaultPlan: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        // The sites a plan sees: backend reads/writes/syncs/
        // preallocations, the WAL's log file operations (`truncate`: a
        // retired log cut to its written end), and opening,
        // creating (an open with `.create` or `.truncate`, after `open`),
        // renaming and removing files, creating and fsyncing directories
        // through the backend. `shortRead` and `shortWrite` rules do not
        // fail anything: the Nth read/write the kernel completes is
        // reported short (see `shortTransfers`).
        case read, write, fsync, fallocate, truncate, open, create, rename, remove, createDirectory, syncDirectory
        case shortRead, shortWrite
        // The ring hooks (RingFaults.swift), consulted by `Ring` itself, so
        // every ring user meets them: io_uring_setup refused (`ringSetup`,
        // errno EPERM as in a container), io_uring_enter answering
        // EAGAIN/EBUSY having taken nothing (`ringBusy`), taking only part
        // of the prepared SQEs (`ringPartialSubmit`, no errno), or failing
        // after the kernel took them (`ringFailure`: I/O in flight).
        case ringSetup, ringBusy, ringPartialSubmit, ringFailure

        /// Operations that change what is on disk: the ones a power cut
        /// stops.
        public var changesDisk: Bool {
            switch self {
            case .write, .fsync, .fallocate, .truncate, .create, .rename, .remove, .createDirectory,
                 .syncDirectory: return true
            case .read, .open, .shortRead, .shortWrite,
                 .ringSetup, .ringBusy, .ringPartialSubmit, .ringFailure: return false
            }
        }
    }

    public struct Rule: Sendable {
        public var kind: Kind
        /// 1-based: the Nth operation of `kind` (on a matching path) after
        /// the rule was added fails.
        public var nth: Int
        /// The errno it fails with (EIO, ENOSPC, ...).
        public var errno: Int32
        /// Keep failing every later operation of the kind too.
        public var sticky: Bool
        /// When non-zero the operation is held up this long first; with
        /// `errno` 0 it then goes through (a slow disk, not a failing one).
        public var delayMillis: Int
        /// When set, only operations on a path containing this count and
        /// fail (e.g. ".sst", "MANIFEST-", ".tmp"); operations without a
        /// known path never match.
        public var pathContains: String?
        /// When set, only operations for which it returns true count (it
        /// runs on the thread doing the operation: e.g. "on the compaction
        /// thread", `FaultPlan.onThread(named:)`).
        public var onlyIf: (@Sendable () -> Bool)?
        /// When set, runs on the operation's thread before the picked
        /// operation goes on (or fails): a test acts at that exact point.
        public var before: (@Sendable () -> Void)?

        public init(kind: Kind, nth: Int = 1, errno: Int32, sticky: Bool = false, pathContains: String? = nil,
                    onlyIf: (@Sendable () -> Bool)? = nil) {
            self.kind = kind
            self.nth = nth
            self.errno = errno
            self.sticky = sticky
            self.delayMillis = 0
            self.pathContains = pathContains
            self.onlyIf = onlyIf
        }

        /// Runs `before` ahead of the Nth operation of `kind` (and with
        /// `sticky` every later one), then lets it through.
        public init(kind: Kind, nth: Int = 1, sticky: Bool = false, pathContains: String? = nil,
                    onlyIf: (@Sendable () -> Bool)? = nil, before: @escaping @Sendable () -> Void) {
            self.init(kind: kind, nth: nth, errno: 0, sticky: sticky, pathContains: pathContains, onlyIf: onlyIf)
            self.before = before
        }

        /// Reports the Nth read (`.shortRead`) or write (`.shortWrite`) the
        /// kernel completes (and with `sticky` every later one) as having
        /// moved half its bytes.
        public init(shortTransfer kind: Kind, nth: Int = 1, sticky: Bool = false) {
            precondition(kind == .shortRead || kind == .shortWrite, "short transfers are reads or writes")
            self.init(kind: kind, nth: nth, errno: 0, sticky: sticky)
        }

        /// Holds the Nth operation of `kind` (and with `sticky` every later
        /// one) up for `delayMillis`, then lets it through.
        public init(kind: Kind, nth: Int = 1, delayMillis: Int, sticky: Bool = false, pathContains: String? = nil) {
            self.init(kind: kind, nth: nth, errno: 0, sticky: sticky, pathContains: pathContains)
            self.delayMillis = delayMillis
        }

        func matches(_ kind: Kind, path: String?) -> Bool {
            guard kind == self.kind else { return false }
            if let pathContains, !(path?.contains(pathContains) ?? false) { return false }
            return onlyIf?() ?? true
        }
    }

    private struct State {
        /// Each rule with the number of matching operations seen since it
        /// was added.
        var rules: [(rule: Rule, seen: Int)] = []
        var injected = 0
        /// Disk-changing operations still allowed before the power cut;
        /// nil: no cut planned.
        var mutationsBeforeCut: Int?
        var powerCut = false
        /// Disk-changing operations that went through (for tests that cut
        /// the power at every step of a run).
        var mutations = 0
    }

    /// Rules and how many matching operations each has seen.
    private let state = Locked(State())

    /// Files created through the plan's backend and how much of each was
    /// synced; `simulateCrash` drops the rest.
    public let durability = DurabilityTracker()

    /// Memory that SQEs pointed at when a `ringFailure` rule failed their
    /// submission: what the kernel may still read or write
    /// (`touchMemoryInFlightAtFailures`, RingFaults.swift).
    public let memoryInFlightAtFailures = InFlightMemoryLog()

    public init(_ rules: [Rule] = []) {
        state.withLock { $0.rules = rules.map { ($0, 0) } }
    }

    public func add(_ rule: Rule) {
        state.withLock { s in s.rules.append((rule, 0)) }
    }

    /// Counts from zero again and forgets every rule.
    public func reset() { state.withLock { $0 = State() } }

    /// How many faults were injected so far.
    public var injectedCount: Int { state.withLock { $0.injected } }

    /// After `n` more operations that change the disk (writes, syncs,
    /// preallocations, log truncations, creates, renames, removals,
    /// directory creates and fsyncs — through the backend or the WAL's log
    /// file), every such
    /// operation fails with EIO: the machine stopped there. Reads go on.
    /// `simulateCrash` then decides what of the unsynced state survived.
    public func cutPower(afterMutations n: Int) {
        state.withLock { s in
            s.mutationsBeforeCut = max(n, 0)
            s.powerCut = n <= 0
        }
    }

    /// Whether a planned power cut has happened.
    public var isPowerCut: Bool { state.withLock { $0.powerCut } }

    /// How many disk-changing operations went through so far.
    public var mutationCount: Int { state.withLock { $0.mutations } }

    /// Whether some rule for `kind` matches by path (so the caller should
    /// find the path of a descriptor before asking).
    public func wantsPath(_ kind: Kind) -> Bool {
        state.withLock { s in s.rules.contains { $0.rule.kind == kind && $0.rule.pathContains != nil } }
    }

    /// Records one operation of `kind` (on `path`, when known); returns
    /// the errno to fail it with, or nil to let it through.
    public func check(_ kind: Kind, path: String? = nil) -> Int32? {
        guard let (code, rule) = consult(kind, path: path) else { return nil }
        // Slept and run outside the lock: other operations go on meanwhile.
        if rule.delayMillis > 0 { usleep(UInt32(rule.delayMillis) * 1000) }
        rule.before?()
        return code
    }

    /// A rule's `onlyIf` that picks operations of threads whose name
    /// contains `name` (the engine names its background threads
    /// "ringkv-flush", "ringkv-compact", "ringkv-bg").
    public static func onThread(named name: String) -> @Sendable () -> Bool {
        { currentThreadName.contains(name) }
    }

    /// The calling thread's name.
    public static var currentThreadName: String {
        var buffer = [CChar](repeating: 0, count: 17)
        guard rk_thread_name(&buffer) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Records one operation of `kind`; true when a rule picks it (for
    /// rules that change an operation instead of failing it: short
    /// transfers).
    public func triggers(_ kind: Kind, path: String? = nil) -> Bool {
        consult(kind, path: path) != nil
    }

    /// Reports reads and writes as short when a `shortRead`/`shortWrite`
    /// rule picks them; handed to a real backend (`URingBackend`,
    /// `PosixBackend`: debug builds), so their own resubmission of the rest
    /// runs. See `shortTransfer`.
    public var shortTransfers: ShortTransferHook {
        { [self] isWrite, fd, moved in shortTransfer(isWrite: isWrite, fd: fd, moved: moved) }
    }

    /// How many of `moved` bytes a read or write on `fd` (whose path
    /// contains `path`, when a rule asks) counts: all, or when a
    /// `shortRead`/`shortWrite` rule picks it half — on an O_DIRECT
    /// descriptor half rounded down to 4 KiB, as the kernel's own short
    /// direct transfers stay block aligned (a transfer of less than 8 KiB
    /// is then left whole).
    public func shortTransfer(isWrite: Bool, fd: Int32, moved: Int, path: String? = nil) -> Int {
        guard moved > 1, triggers(isWrite ? .shortWrite : .shortRead, path: path) else { return moved }
        let direct = fcntl(fd, F_GETFL) & RK_O_DIRECT != 0
        let short = direct ? (moved / 2) & ~4095 : moved / 2
        return short > 0 ? short : moved
    }

    /// Counts one operation against every matching rule; returns the errno
    /// (nil: none) and the first rule that picks it, or nil when none does.
    private func consult(_ kind: Kind, path: String?) -> (Int32?, Rule)? {
        state.withLock { s -> (Int32?, Rule)? in
            if kind.changesDisk, let left = s.mutationsBeforeCut {
                if left == 0 { s.powerCut = true }
                if s.powerCut { return (EIO, Rule(kind: kind, errno: EIO)) }
                s.mutationsBeforeCut = left - 1
            }
            if kind.changesDisk { s.mutations += 1 }
            var outcome: (Int32?, Rule)?
            // `onlyIf` runs here, on the operation's thread.
            for i in s.rules.indices where s.rules[i].rule.matches(kind, path: path) {
                s.rules[i].seen += 1
                let rule = s.rules[i].rule
                let n = s.rules[i].seen
                if outcome == nil && (n == rule.nth || (rule.sticky && n >= rule.nth)) {
                    s.injected += 1
                    outcome = (rule.errno == 0 ? nil : rule.errno, rule)
                }
            }
            return outcome
        }
    }

    /// Throws the planned failure for one operation of `kind`, if any.
    public func fail(_ kind: Kind, operation: String, path: String? = nil, offset: UInt64? = nil) throws(IOError) {
        if let code = check(kind, path: path) {
            throw IOError(operation: operation, errno: code, path: path, offset: offset,
                          detail: isPowerCut ? "injected fault: power cut" : "injected fault")
        }
    }
}

/// Given a read (`isWrite` false) or write the kernel completed on `fd`
/// having moved `moved` bytes, returns how many the backend should count —
/// fewer makes it resubmit the rest through its real path (re-reading or
/// rewriting bytes that did move is harmless).
public typealias ShortTransferHook = @Sendable (_ isWrite: Bool, _ fd: Int32, _ moved: Int) -> Int

/// A plan is the engine's I/O seam (`Options.ioSeam`).
extension FaultPlan: IOSeam {
    package func wrap(_ backend: any IOBackend) -> any IOBackend {
        FaultInjectingBackend(base: backend, plan: self)
    }

    #if DEBUG
    package func hooks(label: String?) -> any IOHooks { FaultHooks(plan: self, label: label) }
    #endif
}

/// An `IOBackend` that asks a `FaultPlan` before passing each call to the
/// real backend underneath.
public final class FaultInjectingBackend: IOBackend {
    public let base: any IOBackend
    public let plan: FaultPlan
    public var name: String { base.name + "+faults" }
    public var usesIOUring: Bool { base.usesIOUring }

    public init(base: any IOBackend, plan: FaultPlan) {
        self.base = base
        self.plan = plan
    }

    public func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(IOError) -> Int {
        let path = plan.wantsPath(.read) ? DurabilityTracker.path(fd: fd) : nil
        try plan.fail(.read, operation: "read", path: path, offset: offset)
        return try base.read(fd: fd, into: buffer, offset: offset)
    }

    public func write(fd: Int32, from buffer: UnsafeRawBufferPointer, offset: UInt64) throws(IOError) {
        try plan.fail(.write, operation: "write", offset: offset)
        try base.write(fd: fd, from: buffer, offset: offset)
    }

    public func writeBatch(_ requests: [WriteRequest]) throws(IOError) {
        for r in requests { try plan.fail(.write, operation: "write", offset: r.offset) }
        try base.writeBatch(requests)
    }

    public func readBatch(_ requests: inout [ReadRequest]) throws(IOError) {
        try base.readBatch(&requests)
        for i in requests.indices {
            if let code = plan.check(.read) {
                requests[i].error = IOError(operation: "read", errno: code, offset: requests[i].offset,
                                            detail: "injected fault")
            }
        }
    }

    /// The base backend's reads, failed per request at harvest time (when
    /// the caller learns the result), exactly as `readBatch` fails them.
    public func submitReads(_ requests: [ReadRequest], buffer: SharedAlignedBuffer) throws(IOError) -> PendingReads {
        let pending = try base.submitReads(requests, buffer: buffer)
        let plan = self.plan
        pending.onCompletion { requests in
            for i in requests.indices {
                if let code = plan.check(.read) {
                    requests[i].error = IOError(operation: "read", errno: code, offset: requests[i].offset,
                                                detail: "injected fault")
                }
            }
        }
        return pending
    }

    public func sync(fd: Int32, dataOnly: Bool) throws(IOError) {
        try plan.fail(.fsync, operation: dataOnly ? "fdatasync" : "fsync", path: DurabilityTracker.path(fd: fd))
        try base.sync(fd: fd, dataOnly: dataOnly)
        plan.durability.noteSynced(fd: fd)
    }

    public func preallocate(fd: Int32, offset: UInt64, length: UInt64) throws(IOError) {
        try plan.fail(.fallocate, operation: "fallocate", offset: offset)
        try base.preallocate(fd: fd, offset: offset, length: length)
    }

    public func openFile(_ path: String, _ mode: File.Mode, direct: File.DirectIO) throws(IOError) -> File {
        try plan.fail(.open, operation: "open", path: path)
        let creates = mode.contains(.create) || mode.contains(.truncate)
        if creates { try plan.fail(.create, operation: "open", path: path) }
        let existed = FileSystem.exists(path)
        let file = try base.openFile(path, mode, direct: direct)
        if creates { plan.durability.noteOpened(fd: file.fd, path: path, created: !existed) }
        return file
    }

    public func rename(_ from: String, to: String) throws(IOError) {
        try plan.fail(.rename, operation: "rename", path: from)
        let inode = DurabilityTracker.inode(path: from)
        let replaced = try plan.durability.keep(to)
        do {
            try base.rename(from, to: to)
        } catch {
            plan.durability.release(replaced)
            throw error
        }
        if let inode { plan.durability.noteRenamed(from: from, to: to, inode: inode, replaced: replaced) }
    }

    public func removeFile(_ path: String) throws(IOError) {
        try plan.fail(.remove, operation: "unlink", path: path)
        let kept = try plan.durability.keep(path)
        do {
            try base.removeFile(path)
        } catch {
            plan.durability.release(kept)
            throw error
        }
        plan.durability.noteRemoved(path, kept: kept)
    }

    public func createDirectory(_ path: String) throws(IOError) {
        try plan.fail(.createDirectory, operation: "mkdir", path: path)
        let existed = FileSystem.isDirectory(path)
        try base.createDirectory(path)
        if !existed { plan.durability.noteDirectoryCreated(path) }
    }

    public func createNewDirectory(_ path: String) throws(IOError) {
        try plan.fail(.createDirectory, operation: "mkdir", path: path)
        try base.createNewDirectory(path)
        plan.durability.noteDirectoryCreated(path)
    }

    public func syncDirectory(_ path: String) throws(IOError) {
        try plan.fail(.syncDirectory, operation: "fsync", path: path)
        try base.syncDirectory(path)
        plan.durability.noteDirectorySynced(path)
    }
}
