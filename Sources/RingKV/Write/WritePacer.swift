/// Paces writes while L0 is at or past `l0SlowdownTrigger`: each committed
/// group adds its bytes, at an allowed rate, to a debt of delay, and the
/// next group's leader sleeps it off once it reaches 1 ms (nanosleep's
/// granularity makes shorter sleeps pointless). The rate is 16 MiB/s at
/// the trigger (RocksDB's default `delayed_write_rate`) and falls by a
/// quarter per further L0 table, so writes slow down as the backlog grows
/// rather than at one step: 5 MiB/s four tables past the trigger, under
/// 0.2 MiB/s at the default stop trigger (36).
///
/// The former rule slept 1 ms per group from the trigger on, whatever the
/// group's size: about 1,700 writes/s with two writers, for minutes of a
/// 20M-record load (issue 26). Lives in `DBImpl.writePacer`, guarded by
/// `DBImpl.mu`.
struct WritePacer {
    static let rateAtTriggerBytesPerSecond = 16.0 * 1_048_576
    /// The rate's factor per L0 table past the trigger.
    static let ratePerExtraTable = 0.75
    /// Debt below this is carried to the next group instead of slept.
    static let minimumSleepNanos: UInt64 = 1_000_000

    /// Delay owed and not yet slept.
    private(set) var debtNanos: UInt64 = 0

    /// Writes per second allowed with `level0Files` tables in L0 (nil: no
    /// pacing, below the trigger).
    static func rateBytesPerSecond(level0Files: Int, slowdownTrigger: Int) -> Double? {
        let trigger = max(slowdownTrigger, 1)
        guard level0Files >= trigger else { return nil }
        var rate = rateAtTriggerBytesPerSecond
        for _ in 0..<min(level0Files - trigger, 64) { rate *= ratePerExtraTable }
        return rate
    }

    /// A group of `bytes` was committed with `level0Files` in L0. Below
    /// the trigger any debt is forgiven.
    mutating func committed(bytes: Int, level0Files: Int, slowdownTrigger: Int) {
        guard let rate = WritePacer.rateBytesPerSecond(level0Files: level0Files, slowdownTrigger: slowdownTrigger)
        else {
            debtNanos = 0
            return
        }
        debtNanos &+= UInt64(Double(max(bytes, 0)) / rate * 1e9)
    }

    /// The delay a leader should sleep now (0 while the debt is under 1 ms),
    /// which clears the debt.
    mutating func takeSleep() -> UInt64 {
        guard debtNanos >= WritePacer.minimumSleepNanos else { return 0 }
        defer { debtNanos = 0 }
        return debtNanos
    }
}
