/// What compaction is doing right now: the running compactions with the
/// tables they hold and their keyspaces, a pending `compactRange`, and the
/// failure back-off. Lives in `DBImpl.compaction`, guarded by `DBImpl.mu`.
///
/// Keyspaces: compactions of different keyspaces never conflict (their
/// levels are their own). The picker sees one keyspace's running
/// compactions (`restricted(to:)`), so its rules stay per keyspace.
struct CompactionState {
    /// One running compaction as the picker must see it.
    struct Running {
        var keyspace: UInt32 = 0
        var level: Int
        var outputLevel: Int
        var smallestUserKey: [UInt8]
        var largestUserKey: [UInt8]
        var fileNumbers: [UInt64]
    }

    private(set) var running: [UInt64: Running] = [:]
    /// Tables some running compaction reads; no other compaction may take them.
    private(set) var busyFiles: Set<UInt64> = []
    private var nextId: UInt64 = 1
    /// Bumped whenever `running` changes.
    private(set) var generation: UInt64 = 0
    /// A `compactRange` is running; automatic compactions are not picked.
    var manualRunning = false
    /// `compactRange` callers waiting for their turn; automatic
    /// compactions are not picked meanwhile, so the manual one is not
    /// starved.
    var manualWaiting = 0
    /// The last failure of an automatic compaction, cleared by a success.
    var failure: DBError?
    var consecutiveFailures = 0
    /// No automatic compaction is picked before this (MonotonicClock).
    var retryAtNanos: UInt64 = 0
    /// Whether the database is loading (fed by the flush thread).
    var loadPhase = LoadPhase()

    /// The keyspace a `restricted(to:)` view shows (0 for the whole
    /// state): the picker's conflict checks are in it.
    private(set) var keyspace: UInt32 = 0

    var isIdle: Bool { running.isEmpty }

    var isLevel0Running: Bool { running.values.contains { $0.level == 0 } }

    func isBusy(_ file: FileMetaData) -> Bool { busyFiles.contains(file.number) }

    /// This state as the picker of `keyspace` must see it: that keyspace's
    /// running compactions only (the same state when every running one is
    /// of it).
    func restricted(to keyspace: UInt32) -> CompactionState {
        var view = self
        view.keyspace = keyspace
        guard running.values.contains(where: { $0.keyspace != keyspace }) else { return view }
        view.running = running.filter { $0.value.keyspace == keyspace }
        view.busyFiles = Set(view.running.values.flatMap(\.fileNumbers))
        return view
    }

    /// True when `compaction` (of `keyspace`) may not run beside the
    /// running ones: one of its tables is taken, or its output range at
    /// its output level meets the output range of another compaction of
    /// the keyspace writing to that level (two compactions must never add
    /// overlapping tables to one level).
    func conflicts(_ compaction: Compaction, keyspace: UInt32) -> Bool {
        if compaction.allInputs.contains(where: isBusy) { return true }
        for other in running.values where other.keyspace == keyspace && other.outputLevel == compaction.outputLevel {
            if compareBytes(other.largestUserKey, compaction.smallestUserKey) >= 0
                && compareBytes(compaction.largestUserKey, other.smallestUserKey) >= 0 {
                return true
            }
        }
        return false
    }

    /// `conflicts(_:keyspace:)` in the keyspace this view shows (the
    /// picker's check).
    func conflicts(_ compaction: Compaction) -> Bool { conflicts(compaction, keyspace: keyspace) }

    /// Marks the tables of `compaction` (of `keyspace`) busy; returns the
    /// id to unregister.
    mutating func register(_ compaction: Compaction, keyspace: UInt32) -> UInt64 {
        precondition(!conflicts(compaction, keyspace: keyspace), "registering a compaction that conflicts with a running one")
        let id = nextId
        nextId += 1
        let numbers = compaction.allInputs.map(\.number)
        running[id] = Running(keyspace: keyspace, level: compaction.level, outputLevel: compaction.outputLevel,
                              smallestUserKey: compaction.smallestUserKey,
                              largestUserKey: compaction.largestUserKey, fileNumbers: numbers)
        busyFiles.formUnion(numbers)
        generation += 1
        return id
    }

    mutating func unregister(_ id: UInt64) {
        guard let entry = running.removeValue(forKey: id) else {
            preconditionFailure("unregistering compaction \(id), which is not running")
        }
        busyFiles.subtract(entry.fileNumbers)
        generation += 1
    }

    /// Records a failed automatic compaction and schedules the retry:
    /// 100 ms after the first failure, doubling up to 10 s.
    mutating func recordFailure(_ error: DBError, nowNanos: UInt64) {
        failure = error
        consecutiveFailures += 1
        let shift = min(consecutiveFailures - 1, 7)
        let backoffNanos = min(UInt64(100_000_000) << UInt64(shift), 10_000_000_000)
        retryAtNanos = nowNanos + backoffNanos
    }

    mutating func recordSuccess() {
        failure = nil
        consecutiveFailures = 0
        retryAtNanos = 0
    }
}
