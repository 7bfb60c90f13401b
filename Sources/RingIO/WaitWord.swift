import CRingSupport

/// A 32-bit state word that other threads change and its owner can sleep on
/// (a Linux futex): the waiting primitive of the engine's writer queue.
///
/// The word lives in memory of its own that never moves, so the kernel can
/// key sleepers on its address. Every access is atomic: loads acquire,
/// stores release, exchanges and compare-exchanges do both, so what a
/// thread wrote before changing the word is visible to one that sees the
/// change.
package final class WaitWord: @unchecked Sendable {
    // @unchecked Sendable: the only state is the heap word, touched solely
    // through the atomic and futex calls above; the pointer never changes.
    private let word: UnsafeMutablePointer<UInt32>

    package init(_ initial: UInt32 = 0) {
        word = .allocate(capacity: 1)
        word.initialize(to: initial)
    }

    deinit { word.deallocate() }

    @inline(__always) package func load() -> UInt32 { rk_atomic_load_acquire_u32(word) }

    @inline(__always) package func store(_ value: UInt32) { rk_atomic_store_release_u32(word, value) }

    /// Stores `value` and returns what the word held.
    @inline(__always) package func exchange(_ value: UInt32) -> UInt32 { rk_atomic_exchange_u32(word, value) }

    @inline(__always)
    package func compareExchange(expected: UInt32, desired: UInt32) -> Bool {
        rk_atomic_cas_u32(word, expected, desired)
    }

    /// Sleeps while the word holds `expected`, at most `timeoutNanos` (nil:
    /// no limit; a relative CLOCK_MONOTONIC timeout, so wall-clock steps do
    /// not stretch it). Returns at once when the word differs. May return
    /// spuriously: the caller re-checks the word in a loop.
    package func wait(whileEqualTo expected: UInt32, timeoutNanos: UInt64? = nil) {
        BlockingCheck.willBlock("futex wait")
        let timeout = timeoutNanos.map { Int64(clamping: $0) } ?? -1
        _ = rk_futex_wait(word, expected, timeout)
    }

    /// Wakes every thread sleeping on the word.
    package func wakeAll() { _ = rk_futex_wake(word, Int32.max) }

    /// A spin-wait hint to the CPU (x86 `pause`): lets the sibling
    /// hyperthread run and saves power while polling the word.
    @inline(__always) package static func relax() { rk_cpu_relax() }
}
