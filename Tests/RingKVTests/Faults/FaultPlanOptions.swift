import RingIOFaults
@testable import RingKV

extension Options {
    /// The test's `FaultPlan` as the engine's I/O seam (`Options.ioSeam`):
    /// it wraps the database's backend, and in debug builds its hooks sit
    /// in every ring and in the WAL's log file.
    var faultPlan: FaultPlan? {
        get { ioSeam as? FaultPlan }
        set { ioSeam = newValue }
    }
}
