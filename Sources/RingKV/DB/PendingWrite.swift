import Synchronization

/// One caller of `DB.write` waiting in the writer queue. Fields other than
/// the inputs are guarded by the DB's `mu`.
final class PendingWrite {
    /// Encoded batch (header filled in by the leader).
    var rep: [UInt8]
    let count: Int
    let sync: Bool
    /// A request to switch the memtable (DB.flush), carrying no data.
    let forceSwitch: Bool
    /// Set (release) by the leader that committed this writer's group;
    /// atomic so a writer that spins instead of sleeping
    /// (`Options.groupCommitSpinMicros`) can read it without the DB's mu.
    let doneFlag = Atomic<Bool>(false)
    var done: Bool { doneFlag.load(ordering: .acquiring) }
    var error: DBError?
    /// Signalled when this writer is done or has become the queue head, so
    /// a group completion wakes its members, not every waiting thread.
    let wakeUp = Monitor.Condition()

    init(rep: [UInt8], count: Int, sync: Bool, forceSwitch: Bool = false) {
        self.rep = rep
        self.count = count
        self.sync = sync
        self.forceSwitch = forceSwitch
    }
}
