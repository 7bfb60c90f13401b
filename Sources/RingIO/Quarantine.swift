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
