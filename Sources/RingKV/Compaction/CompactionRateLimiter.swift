import Glibc
import RingIO

/// Paces compaction writes to `Options.compactionWriteBytesPerSecond`
/// (RocksDB's rate limiter, for compactions only): a compaction reports
/// the bytes its outputs grew by (`CompactionJob`, every 1024 entries) and
/// sleeps until they fit the rate. One per database, shared by its
/// compaction threads, so the limit is their sum. Flushes are not paced: a
/// slowed flush would stall the writers instead of sparing the reads.
///
/// How data flows through it: a virtual clock (`nextNanos`) moves on by
/// bytes / rate with each charge; a caller whose charge lands more than
/// `burstNanos` past now sleeps off the difference, in slices of at most
/// 10 ms, and stops sleeping once `abandon` says the job is over (close).
final class CompactionRateLimiter: Sendable {
    let bytesPerSecond: UInt64
    /// Bytes a compaction may write ahead of the rate without sleeping,
    /// as time: 50 ms of the rate.
    static let burstNanos: UInt64 = 50_000_000
    private static let sliceNanos: UInt64 = 10_000_000
    private let nextNanos = Locked<UInt64>(0)
    /// Nanoseconds callers slept (for tests and stats).
    let sleptNanos = Counter()

    /// nil when `bytesPerSecond` is 0 (no limit).
    init?(bytesPerSecond: Int) {
        guard bytesPerSecond > 0 else { return nil }
        self.bytesPerSecond = UInt64(bytesPerSecond)
    }

    /// Charges `bytes` written and sleeps as long as the rate asks.
    func pace(bytes: UInt64, abandon: () -> Bool) {
        guard bytes > 0 else { return }
        let now = MonotonicClock.nanos()
        // bytes × 1e9 / rate without overflow for any UInt64 byte count.
        let (high, low) = bytes.multipliedFullWidth(by: 1_000_000_000)
        let costNanos = high >= bytesPerSecond ? UInt64.max : bytesPerSecond.dividingFullWidth((high, low)).quotient
        let due = nextNanos.withLock { next -> UInt64 in
            let (sum, overflow) = max(next, now).addingReportingOverflow(costNanos)
            next = overflow ? .max : sum
            return next
        }
        guard due > now + Self.burstNanos else { return }
        let until = due - Self.burstNanos
        var clock = now
        while clock < until, !abandon() {
            var pause = timespec(tv_sec: 0, tv_nsec: Int(min(until - clock, Self.sliceNanos)))
            nanosleep(&pause, nil)
            clock = MonotonicClock.nanos()
        }
        sleptNanos.add(clock - now)
    }
}
