#if canImport(Glibc)
import Glibc
#endif

/// Wall time and process CPU time (all threads, including io_uring and
/// glibc aio helper threads, which belong to this process) of one run.
struct Measurement: Sendable {
    var wallNanos: UInt64
    var userMicros: Int
    var systemMicros: Int
    /// Voluntary plus involuntary context switches of the process's
    /// threads (io-wq workers included) during the run.
    var contextSwitches = 0

    var wallSeconds: Double { Double(wallNanos) / 1e9 }
    var cpuMicros: Int { userMicros + systemMicros }
    /// CPU time over wall time, as a percentage of one core.
    var cpuPercent: Double { wallNanos == 0 ? 0 : Double(cpuMicros) * 1000 / Double(wallNanos) * 100 }
}

/// Runs `body` and measures it: CLOCK_MONOTONIC for wall time,
/// getrusage(RUSAGE_SELF) deltas for CPU.
func measure(_ body: () throws -> Void) rethrows -> Measurement {
    let cpuBefore = processCPU()
    let wallBefore = monotonicNanos()
    try body()
    let wallAfter = monotonicNanos()
    let cpuAfter = processCPU()
    return Measurement(wallNanos: wallAfter - wallBefore,
                       userMicros: cpuAfter.user - cpuBefore.user,
                       systemMicros: cpuAfter.system - cpuBefore.system,
                       contextSwitches: cpuAfter.switches - cpuBefore.switches)
}

/// A timed section whose start and end are not in one closure (the thread
/// pool starts timing when its workers are parked at the start line).
struct MeasurementStart {
    private let cpu: (user: Int, system: Int, switches: Int)
    private let wall: UInt64
    init() {
        cpu = processCPU()
        wall = monotonicNanos()
    }
    func finish() -> Measurement {
        let wallAfter = monotonicNanos()
        let cpuAfter = processCPU()
        return Measurement(wallNanos: wallAfter - wall, userMicros: cpuAfter.user - cpu.user,
                           systemMicros: cpuAfter.system - cpu.system, contextSwitches: cpuAfter.switches - cpu.switches)
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

private func processCPU() -> (user: Int, system: Int, switches: Int) {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return (usage.ru_utime.tv_sec * 1_000_000 + usage.ru_utime.tv_usec,
            usage.ru_stime.tv_sec * 1_000_000 + usage.ru_stime.tv_usec,
            usage.ru_nvcsw + usage.ru_nivcsw)
}

/// One run of one mode.
struct RunSample: Sendable {
    var mode: BenchMode
    var run: Int
    var measurement: Measurement
    /// io_uring_enter calls (uring modes), pread calls (sync, threads) or
    /// aio_read + aio_suspend calls (aio); see BenchMode.countedCalls.
    var calls: Int
}
