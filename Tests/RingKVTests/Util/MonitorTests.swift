import Glibc
import Testing
@testable import RingKV

/// `Monitor`'s timed waits measure CLOCK_MONOTONIC (issue #15 item 8): a
/// wall-clock step (NTP, an administrator, a VM resumed) must neither
/// stretch nor cut the group-commit gather wait or a retry back-off.
@Suite struct MonitorTests {
    private func monotonicNanos(_ t: timespec) -> UInt64 { UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec) }

    /// The absolute deadline handed to pthread_cond_timedwait is on the
    /// monotonic clock the condition variables are set up with (a
    /// CLOCK_REALTIME deadline is about 56 years away from it).
    @Test func deadlinesAreOnTheMonotonicClock() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadline = monotonicNanos(Monitor.deadline(after: 5_000_000))
        let start = monotonicNanos(now)
        #expect(deadline >= start + 5_000_000 && deadline < start + 1_000_000_000,
                "deadline \(deadline) ns is not 5 ms after monotonic now \(start) ns")
    }

    /// A timed wait nobody signals lasts its timeout, measured on the
    /// monotonic clock, on the monitor's own condition and on a separate one.
    @Test func timedWaitsLastTheirTimeout() {
        let monitor = Monitor()
        let condition = Monitor.Condition()
        for useCondition in [false, true] {
            monitor.lock()
            let started = MonotonicClock.nanos()
            if useCondition { condition.wait(monitor, nanoseconds: 30_000_000) } else { monitor.wait(nanoseconds: 30_000_000) }
            let waited = MonotonicClock.nanos() - started
            monitor.unlock()
            // Spurious wake-ups are allowed by POSIX but do not happen here
            // without a signal; the upper bound only catches a wait gone
            // astray (a deadline on the wrong clock waits ~forever or 0).
            #expect(waited >= 29_000_000 && waited < 10_000_000_000, "waited \(waited) ns")
        }
    }
}
