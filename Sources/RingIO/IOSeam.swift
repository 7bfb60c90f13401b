/// Where a test stands between the engine and the kernel: the engine's one
/// I/O seam (`package` access, so nothing outside this package sees it;
/// nil in production). Tests implement it outside the shipped products
/// (RingIOFaults' `FaultPlan`); the engine only hands it on, never asks it
/// anything.
///
/// - `wrap` receives the backend the engine built and returns the one it
///   will use for every table, manifest, directory and file-name
///   operation (and the opening of its logs): a test returns a wrapper that
///   fails, delays or records calls before passing them on (as Pebble's
///   vfs/errorfs wraps a file system).
/// - `hooks(label:)` (debug builds only) reaches the few places no wrapper
///   can: inside `Ring`'s submission loop, inside the backends' resubmission
///   of short transfers, and the operations of a `LogFile`, which the WAL
///   calls directly (no existential call on the write path). Release builds
///   have neither the hooks nor the code that asks them.
package protocol IOSeam: Sendable {
    /// The backend the engine will use, given the one it built.
    func wrap(_ backend: any IOBackend) -> any IOBackend
    #if DEBUG
    /// The hooks for one ring or log file: `label` is the log's path for a
    /// `LogFile` and its ring, nil for the rings of a backend.
    func hooks(label: String?) -> any IOHooks
    #endif
}

#if DEBUG
/// Debug-only hooks inside RingIO's concrete I/O types (see `IOSeam`), in
/// the spirit of swift-system's internal mocking: `package`, compiled only
/// in debug builds, consulted only when a test installed them. Every
/// requirement has a default that changes nothing.
package protocol IOHooks: Sendable {
    /// Before io_uring_setup: an errno refuses the ring (EPERM, as under
    /// Docker's default seccomp profile).
    func ringSetup() -> Int32?
    /// Before an io_uring_enter (`submitting`: `readySQEs` > 0 are
    /// prepared; otherwise the call only waits): nil lets it through.
    func ringEnter(submitting: Bool, readySQEs: Int) -> RingEnterFault?
    /// A `failAfterSubmitting` fault handed the kernel SQEs pointing at
    /// these (address, byte count) ranges: memory it may still use.
    func ringFailed(memoryInFlight: [(address: UInt, count: Int)])
    /// A read or write the kernel completed on `fd` having moved `moved`
    /// bytes (> 0): how many the caller should count. Fewer makes it
    /// resubmit the rest through its real path.
    func transferred(isWrite: Bool, fd: Int32, moved: Int) -> Int

    // A log file's operations: each stands in for the real one and calls
    // `log.system…` itself to let the operation happen.
    func append(_ log: LogFile, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError)
    func appendAndSync(_ log: LogFile, _ group: LogFile.Group, duringIO: () -> Void) throws(IOError)
    func sync(_ log: LogFile, through endOffset: UInt64) throws(IOError)
    func preallocate(_ log: LogFile, offset: UInt64, length: UInt64) throws(IOError)
    func truncate(_ log: LogFile, to length: UInt64) throws(IOError)
}

/// What an `IOHooks.ringEnter` makes of one io_uring_enter.
package enum RingEnterFault: Sendable {
    /// The kernel takes nothing and answers this errno (EAGAIN, EBUSY).
    case refuse(Int32)
    /// The kernel takes half of the prepared SQEs (at least one).
    case submitHalf
    /// The kernel takes every prepared SQE, then the call fails with this
    /// errno: the ring is failed with I/O in flight.
    case failAfterSubmitting(Int32)
}

extension IOHooks {
    package func ringSetup() -> Int32? { nil }
    package func ringEnter(submitting: Bool, readySQEs: Int) -> RingEnterFault? { nil }
    package func ringFailed(memoryInFlight: [(address: UInt, count: Int)]) {}
    package func transferred(isWrite: Bool, fd: Int32, moved: Int) -> Int { moved }
    package func append(_ log: LogFile, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError) {
        try log.systemAppend(bytes, at: offset)
    }
    package func appendAndSync(_ log: LogFile, _ group: LogFile.Group, duringIO: () -> Void) throws(IOError) {
        try log.systemAppendAndSync(group, duringIO: duringIO)
    }
    package func sync(_ log: LogFile, through endOffset: UInt64) throws(IOError) { try log.systemSync() }
    package func preallocate(_ log: LogFile, offset: UInt64, length: UInt64) throws(IOError) {
        try log.systemPreallocate(offset: offset, length: length)
    }
    package func truncate(_ log: LogFile, to length: UInt64) throws(IOError) { try log.systemTruncate(to: length) }
}
#endif

/// Where a backend, a transfer queue or a log file keeps a test's
/// `IOHooks` in debug builds; empty in release builds, where
/// `transferred` is the identity and compiles away.
struct IOHookSlot {
    #if DEBUG
    let hooks: (any IOHooks)?
    init(_ hooks: (any IOHooks)?) { self.hooks = hooks }
    #endif

    init() {
        #if DEBUG
        hooks = nil
        #endif
    }

    /// How many of the `moved` bytes the caller should count (all of them
    /// unless a test's hooks say otherwise).
    @inline(__always)
    func transferred(isWrite: Bool, fd: Int32, moved: Int) -> Int {
        #if DEBUG
        if let hooks { return hooks.transferred(isWrite: isWrite, fd: fd, moved: moved) }
        #endif
        return moved
    }
}
