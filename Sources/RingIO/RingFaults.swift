#if canImport(Glibc)
import Glibc
#endif

// MARK: - The ring seam (test-only fault rules applied inside `Ring`)
//
// `Ring` asks its `FaultPlan` (if it was given one) before io_uring_setup
// and before every io_uring_enter, so the rules below reach every ring
// user — the WAL writer, the io_uring backend's pool (flush, compaction and
// table reads, `PendingReads`) and anything built on them — with the
// engine's real code running around the replaced answer:
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
// A rule's `pathContains` matches the ring's `faultLabel` (the WAL labels
// its ring with the log's path; the backend's pool rings have none).

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
    }

    private let logged = Locked<[Range]>([])

    public init() {}

    public var ranges: [Range] { logged.withLock { $0 } }

    func append(_ ranges: [Range]) { logged.withLock { $0 += ranges } }
}

/// Memory and objects leaked on purpose because the kernel may still use
/// them: after a ring failed with I/O in flight, what its SQEs point at must
/// never be freed or reused (ring teardown is asynchronous; buffered I/O
/// punted to io-wq workers keeps running). Holding them here keeps them
/// reachable, so LeakSanitizer does not report them, and lets tests check
/// that the leak happened.
public enum Quarantine {
    private struct Held {
        var objects: [AnyObject] = []
        /// Addresses of raw allocations (kept as integers: LeakSanitizer
        /// scans reachable memory for pointer values, so they stay
        /// reachable and are not reported).
        var addresses: [UInt] = []
        var bytes = 0
    }

    private static let held = Locked(Held())

    /// Keeps `object` (a ring, a buffer owner) alive for the process's life.
    public static func keep(_ object: AnyObject) { held.withLock { $0.objects.append(object) } }

    /// Keeps any value alive for the process's life — an array whose
    /// storage a failed ring may still write into or read from: the box
    /// holds a reference to that storage, so the caller's later changes to
    /// its own copy go to new storage (copy on write).
    public static func keep<Value>(value: Value) { keep(Box(value)) }

    private final class Box<Value> {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    /// Records raw memory of `bytes` at `address` whose owner will not free it.
    public static func keep(address: UnsafeMutableRawPointer, bytes: Int) {
        held.withLock { h in
            h.addresses.append(UInt(bitPattern: address))
            h.bytes += bytes
        }
    }

    /// Objects and allocations kept so far (tests compare before and after).
    public static var keptCount: Int { held.withLock { $0.objects.count + $0.addresses.count } }

    public static var keptBytes: Int { held.withLock { $0.bytes } }
}
