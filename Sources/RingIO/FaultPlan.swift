
/// Test-only fault injection: "fail the Nth operation of a kind with this
/// errno". The engine's real code path runs; only the result an operation
/// reports is replaced, at the boundary where the kernel's answer arrives
/// (`FaultInjectingBackend` for backend calls, the WAL writer for its
/// ring submissions). Never configured outside tests.
public final class FaultPlan: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        // The sites the engine consults: backend reads/writes/syncs/
        // preallocations, and the WAL writer's ring submissions.
        case read, write, fsync, fallocate
    }

    public struct Rule: Sendable {
        public var kind: Kind
        /// 1-based: the Nth operation of `kind` after the rule was added
        /// fails.
        public var nth: Int
        /// The errno it fails with (EIO, ENOSPC, ...).
        public var errno: Int32
        /// Keep failing every later operation of the kind too.
        public var sticky: Bool

        public init(kind: Kind, nth: Int = 1, errno: Int32, sticky: Bool = false) {
            self.kind = kind
            self.nth = nth
            self.errno = errno
            self.sticky = sticky
        }
    }

    private struct State {
        /// Each rule with the count of its kind when it was added.
        var rules: [(rule: Rule, base: Int)] = []
        var counts: [Kind: Int] = [:]
        var injected = 0
    }

    /// Rules and per-kind operation counts.
    private let state = Locked(State())

    public init(_ rules: [Rule] = []) {
        state.withLock { $0.rules = rules.map { ($0, 0) } }
    }

    public func add(_ rule: Rule) {
        state.withLock { s in s.rules.append((rule, s.counts[rule.kind] ?? 0)) }
    }

    /// Counts from zero again and forgets every rule.
    public func reset() { state.withLock { $0 = State() } }

    /// How many faults were injected so far.
    public var injectedCount: Int { state.withLock { $0.injected } }

    /// Records one operation of `kind`; returns the errno to fail it with,
    /// or nil to let it through.
    public func check(_ kind: Kind) -> Int32? {
        state.withLock { s in
            let n = (s.counts[kind] ?? 0) + 1
            s.counts[kind] = n
            for (rule, base) in s.rules where rule.kind == kind {
                let nth = base + rule.nth
                if n == nth || (rule.sticky && n >= nth) {
                    s.injected += 1
                    return rule.errno
                }
            }
            return nil
        }
    }

    /// Throws the planned failure for one operation of `kind`, if any.
    public func fail(_ kind: Kind, operation: String, path: String? = nil, offset: UInt64? = nil) throws(IOError) {
        if let code = check(kind) {
            throw IOError(operation: operation, errno: code, path: path, offset: offset, detail: "injected fault")
        }
    }
}

/// An `IOBackend` that asks a `FaultPlan` before passing each call to the
/// real backend underneath.
public final class FaultInjectingBackend: IOBackend {
    public let base: any IOBackend
    public let plan: FaultPlan
    public var name: String { base.name + "+faults" }

    public init(base: any IOBackend, plan: FaultPlan) {
        self.base = base
        self.plan = plan
    }

    public func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(IOError) -> Int {
        try plan.fail(.read, operation: "read", offset: offset)
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
        try plan.fail(.fsync, operation: dataOnly ? "fdatasync" : "fsync")
        try base.sync(fd: fd, dataOnly: dataOnly)
    }

    public func preallocate(fd: Int32, offset: UInt64, length: UInt64) throws(IOError) {
        try plan.fail(.fallocate, operation: "fallocate", offset: offset)
        try base.preallocate(fd: fd, offset: offset, length: length)
    }
}
