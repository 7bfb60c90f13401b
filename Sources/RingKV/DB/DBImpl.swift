import Glibc
import RingIO
import Synchronization

/// The engine behind the public `DB`: the keyspaces with their memtables
/// (KeyspaceData.swift), the WAL they share, the version set, the commit
/// pipeline and the background workers.
///
/// Lock order: `mu` before the VersionSet's own lock. Every field marked
/// "guarded by mu" is read and written only with `mu` held.
final class DBImpl: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is guarded by `mu` (documented
    // per field); immutable fields are set in init.
    let path: String
    let options: Options
    let backend: any IOBackend
    let versions: VersionSet
    let tableCache: TableCache
    let blockCache: BlockCache
    let snapshots = SnapshotRegistry()
    let stats = StatsCounters()
    /// Paces compaction writes; nil without `compactionWriteBytesPerSecond`.
    let compactionLimiter: CompactionRateLimiter?
    /// Log events and metrics timers (Observability/).
    let events: EngineEvents
    /// What recovery did at open (replayed logs, dropped bytes, `lost/`).
    let recovery: RecoveryReport
    /// Async writes waiting for their merged commit (AsyncWriteQueue.swift).
    let asyncWrites = AsyncWriteQueue()
    /// nil only for a read-only open where no LOCK file exists and none
    /// can be created (DatabaseRecovery.takeLock).
    private let lock: FileLock?
    /// Whether this open holds the LOCK (shared or exclusive): false only
    /// for the unlocked read-only open above, which excludes no writer.
    var holdsLock: Bool { lock != nil }

    /// This open's identity: its keyspaces carry it, so a handle or batch
    /// of another database is refused.
    let identity: DatabaseIdentity
    let mu = Monitor()
    /// Idle background threads wait here, not on `mu`'s own condition, so
    /// that the wake-ups of the write path (one per group) do not reach
    /// them. `wakeAllLocked()` wakes both.
    let backgroundWake = Monitor.Condition()
    /// Keyspace 0, "default": what the DB's own methods act on. Always
    /// live.
    let defaultKeyspace: KeyspaceData
    /// Every live keyspace by id, "default" included (guarded by mu).
    var keyspaces: [UInt32: KeyspaceData] = [:]
    /// The same by name (guarded by mu).
    var keyspacesByName: [String: KeyspaceData] = [:]
    /// The live keyspaces in id order (guarded by mu).
    var keyspaceList: [KeyspaceData] = []
    /// Keyspaces whose `imm` waits for its flush, oldest switch first
    /// (guarded by mu).
    var flushQueue: [KeyspaceData] = []
    /// Memtable memory as the leader last measured it (MemoryBudget.swift):
    /// active memtables, and immutable ones waiting for or in a flush
    /// (guarded by mu).
    var activeMemtableBytes = 0
    var immutableMemtableBytes = 0
    /// Keyspaces whose active memtable a group filled, waiting for the
    /// leader to switch it (MemoryBudget.swift; guarded by mu).
    var fullKeyspaces: [KeyspaceData] = []
    /// The WAL files closed since open, oldest first, with their sizes;
    /// those below the database's log number are pruned when the leader
    /// measures the live logs (WALBudget.swift; guarded by mu).
    var closedLogSizes: [(number: UInt64, sizeBytes: UInt64)] = []
    /// Where the next compaction pick starts in `keyspaceList` (round robin
    /// between keyspaces of equal score; guarded by mu).
    var compactionPickStart = 0
    /// The default keyspace's active memtable (guarded by mu).
    var mem: MemTable {
        get { defaultKeyspace.mem }
        set { defaultKeyspace.mem = newValue }
    }
    /// The default keyspace's memtable being flushed, if any (guarded by mu).
    var imm: MemTable? { defaultKeyspace.imm }
    /// The log receiving writes (guarded by mu; used outside mu only by the
    /// current group leader).
    var wal: WALWriter {
        get {
            guard let currentLog else { preconditionFailure("the write path ran on a database opened read-only") }
            return currentLog
        }
        set { currentLog = newValue }
    }
    /// nil only when opened read-only (`Options.readOnly`): the public
    /// write entry points refuse writes first (`checkWritable`), and
    /// `walFailure` is set as well, so the write path and flushes — the
    /// only users of `wal` — never run (guarded by mu).
    private var currentLog: WALWriter?
    /// Group commit: the writer queue, leadership, groups and sequence
    /// allocation (CommitPipeline.swift); shares `mu`.
    let pipeline: CommitPipeline
    /// Groups whose log bytes are reserved but not all written yet: 0 or 1
    /// (guarded by mu).
    var groupsInFlight: Int { currentLog.map { $0.hasFreeSlot ? 0 : 1 } ?? 0 }
    /// How the WAL writes synced groups (`DBStats.walIOBackend`); nil
    /// when opened read-only.
    var walIOPath: IOPath? { currentLog?.ioPath }
    /// Highest sequence whose writes are visible to readers (guarded by mu).
    var lastSequence: SequenceNumber
    /// The change feed's watermark and waiting feeds (FeedNotifier.swift).
    let feed: FeedNotifier
    /// Serializes a replica's applies (DB+Replica.swift; its own lock,
    /// never taken while holding `mu`).
    let replicaApply = Locked(ReplicaApply())
    /// Set when a WAL write or fsync failed: writes are refused until reopen
    /// (guarded by mu).
    var walFailure: DBError?
    /// The last flush failure, cleared on a later success (guarded by mu).
    var backgroundFailure: DBError?
    /// Flush running (guarded by mu).
    var flushRunning = false
    /// After a failed flush, the next attempt waits until this
    /// (MonotonicClock; guarded by mu).
    var flushRetryAtNanos: UInt64 = 0
    /// Table numbers being written and not yet in a version; never deleted
    /// as obsolete (guarded by mu).
    var pendingOutputs: Set<UInt64> = []
    /// Checkpoints in progress: while > 0 no obsolete file is deleted, so
    /// the tables and logs a checkpoint copies stay; close waits for it to
    /// reach 0 (guarded by mu).
    var fileDeletionsPaused = 0
    /// `deleteObsoleteFiles` sweeps running now; a checkpoint waits for
    /// them before it relies on the pause, and close before it closes the
    /// version set and releases the LOCK (guarded by mu).
    var deletionSweepsRunning = 0
    /// Running compactions, a pending compactRange, failure back-off
    /// (guarded by mu).
    var compaction = CompactionState()
    /// Delay owed by writes while L0 is at or past its slowdown trigger
    /// (guarded by mu).
    var writePacer = WritePacer()
    var closing = false
    var closed = false
    /// A follower's completed catch-ups (FollowerCatchUp.swift); 0 on any
    /// other database (guarded by mu).
    var followerGeneration: UInt64 = 0
    /// A follower's position in the primary's files; held for a whole
    /// catch-up, so catch-ups run one at a time (FollowerCatchUp.swift).
    let followerCursor = Locked<FollowerCursor?>(nil)
    /// Catch-ups that replayed only new WAL records (tests).
    let followerIncrementalCatchUps = Atomic<Int>(0)
    /// Set by `abandonForCrashTest`: background threads exit without
    /// flushing the immutable memtable, and a running flush stops before
    /// installing its table. Read without mu by the flush.
    private let abandoned = Atomic<Bool>(false)
    var isAbandoned: Bool { abandoned.load(ordering: .relaxed) }
    /// Set with `closing`; read without `mu` by running compactions, which
    /// give up early instead of delaying close.
    let shuttingDown = Atomic<Bool>(false)
    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }
    /// Reads in progress (`reading`): close waits for them before it drops
    /// the table cache and releases the LOCK. Paired with `shuttingDown`
    /// in sequentially consistent order, so a read either sees the flag
    /// and backs out, or close sees the read and waits for it
    /// (`waitForActiveReads`, ReadsInFlight.swift).
    let activeReads = Atomic<Int>(0)
    /// Where close waits for the last read to finish (ReadsInFlight.swift).
    let readsDrained = Monitor()
    /// Background threads, joined by close (guarded by mu).
    private var workers: [BackgroundThread] = []

    init(path: String, options: Options) throws {
        try options.validate()
        self.path = path
        self.options = options
        compactionLimiter = CompactionRateLimiter(bytesPerSecond: options.compactionWriteBytesPerSecond)
        // Where io_uring is refused every path falls back to plain
        // syscalls: one line on stderr per process, one warning per open.
        var refusal: String?
        backend = IOBackends.make(posixOnly: options.forcePosixIO, readPollMicros: options.readPollMicros,
                                  notice: { refusal = $0; IOBackends.noticeOnce($0) }, seam: options.ioSeam)
        let openStarted = MonotonicClock.nanos()
        let metrics = MetricsExporter.make(options: options, path: path)
        events = EngineEvents(path: path, logger: options.logger, metrics: metrics)
        if let refusal { events.ioUringUnavailable(refusal) }
        let recovered = try DatabaseRecovery.open(path: path, options: options, backend: backend)
        lock = recovered.lock
        if let reason = recovered.unlockedBecause { events.openedWithoutLock(reason) }
        versions = recovered.versions
        tableCache = recovered.tableCache
        blockCache = BlockCache(capacityBytes: options.blockCacheSizeBytes)
        let identity = DatabaseIdentity()
        self.identity = identity
        let opened = recovered.versions.keyspaceRecords.map {
            KeyspaceData(id: $0.id, name: $0.name, owner: identity.id, storedOptions: $0.options, base: options)
        }
        for data in opened {
            if let replayed = recovered.memtables[data.id] { data.mem = replayed }
        }
        defaultKeyspace = opened[0]
        keyspaces = Dictionary(uniqueKeysWithValues: opened.map { ($0.id, $0) })
        keyspacesByName = Dictionary(uniqueKeysWithValues: opened.map { ($0.name, $0) })
        keyspaceList = opened
        currentLog = recovered.wal
        lastSequence = recovered.lastSequence
        // Read-only (no live log): every log is closed, read to its end.
        feed = FeedNotifier(log: recovered.wal?.number ?? UInt64.max, lastSequence: recovered.lastSequence)
        pipeline = CommitPipeline(mu: mu, configuration: CommitPipeline.Configuration(options),
                                  lastSequence: recovered.lastSequence)
        recovery = recovered.report
        publish(recovery)
        stats.peakL0Files.raise(to: UInt64(versions.current.fileCount(0)))
        events.opened(tables: versions.current.fileNumbers.count, lastSequence: lastSequence,
                      logsReplayed: recovery.logs.count, batchesReplayed: Int(recovery.batchesReplayed),
                      ioBackend: backend.name, readOnly: options.readOnly,
                      durationNanos: MonotonicClock.nanos() - openStarted)
        try closingOnFailure { () throws(DBError) in try metrics?.start { [unowned self] in self.makeStats() } }
        if options.readOnly {
            // Nothing is written: no sweep, no flush, no compaction.
            walFailure = DBError.readOnly(.openedReadOnly)
            return
        }
        // Files no version references (a crash mid-flush, old WALs and
        // manifests, temp files) go now.
        deleteObsoleteFiles(includingTemp: true)
        // One thread flushes (a flush never waits behind a long compaction),
        // the others compact; with a single job one thread does both,
        // flushing first.
        let jobs = max(options.backgroundJobs, 1)
        let roles: [BackgroundRole] = jobs == 1 ? [.flushAndCompaction]
            : [.flush] + Array(repeating: .compaction, count: jobs - 1)
        try closingOnFailure { () throws(DBError) in
            for role in roles {
                workers.append(try BackgroundThread(name: role.threadName) { [unowned self] in self.backgroundLoop(role) })
            }
        }
    }

    /// The open's last steps start threads (metrics, workers): when one
    /// cannot start, the database closes — the threads already started
    /// stop — before the open fails with the error.
    private func closingOnFailure(_ step: () throws(DBError) -> Void) throws(DBError) {
        do throws(DBError) { try step() } catch {
            try? close()
            throw error
        }
    }

    /// Wakes every thread waiting on `mu`, background threads included:
    /// for state changes that may give them work (a memtable to flush, a
    /// new version, closing). Caller holds `mu`.
    func wakeAllLocked() {
        mu.assertHeld()
        mu.broadcast()
        backgroundWake.broadcast()
    }

    // MARK: - Closing

    func close() throws {
        mu.lock()
        if closed || closing {
            while !closed { mu.wait() }
            mu.unlock()
            return
        }
        closing = true
        shuttingDown.store(true, ordering: .sequentiallyConsistent)
        // Wake writers stalled on L0 or on a flush (they give up) and idle
        // background threads (they exit).
        wakeAllLocked()
        while !pipeline.isIdleLocked || compaction.manualRunning { mu.wait() }
        wakeAllLocked()
        let threads = workers
        workers = []
        mu.unlock()
        for thread in threads { thread.join() }
        // Without mu: a read that began before close may still need it
        // (readView). Reads are short; new ones back out.
        waitForActiveReads()
        mu.lock()
        // A checkpoint gives up at its next chunk once it sees
        // `shuttingDown`; a sweep (a checkpoint's last step, or one begun
        // before close) must end while this version set and the LOCK are
        // still ours: swept after a reopen, it would delete the new
        // database's MANIFEST and tables. None starts once `closed` is set.
        while fileDeletionsPaused > 0 || deletionSweepsRunning > 0 { mu.wait() }
        closed = true
        wakeAllLocked()
        feed.close()
        try? currentLog?.close()
        try? versions.close()
        // Table descriptors go with the handle's close, not its deinit;
        // the cache takes no reader after this.
        tableCache.close()
        lock?.release()
        let finalStats = makeStatsLocked()
        mu.unlock()
        // Without mu: stopping joins the exporter thread, whose tick may be
        // waiting for mu in makeStats.
        events.metrics?.stop(final: finalStats)
        events.closed()
    }

    /// Throws `.readOnly` for a database opened read-only (every public
    /// write entry point asks first).
    func checkWritable() throws(DBError) {
        if options.readOnly { throw DBError.readOnly(.openedReadOnly) }
    }

    /// Runs a read (get, multiGet, scan, iterator creation) so that close
    /// waits for it: no read opens a table or touches a file after close
    /// dropped the table cache and released the LOCK. Throws `.closed`
    /// once close has begun. (An iterator outlives its creation: one used
    /// after close reads the tables it already holds open.)
    func reading<R>(_ body: () throws(DBError) -> R) throws(DBError) -> R {
        activeReads.add(1, ordering: .sequentiallyConsistent)
        defer { readFinished() }
        if shuttingDown.load(ordering: .sequentiallyConsistent) { throw DBError.closed }
        return try body()
    }

    /// `reading` for a body whose errors are not all `DBError`.
    func reading<R>(_ body: () throws -> R) throws -> R {
        activeReads.add(1, ordering: .sequentiallyConsistent)
        defer { readFinished() }
        if shuttingDown.load(ordering: .sequentiallyConsistent) { throw DBError.closed }
        return try body()
    }

    /// `reading` for async bodies (DB+Async.swift): close waits for the
    /// read to finish, suspensions included, before it closes the tables.
    func readingAsync<R>(_ body: () async throws -> R) async throws -> R {
        activeReads.add(1, ordering: .sequentiallyConsistent)
        defer { readFinished() }
        if shuttingDown.load(ordering: .sequentiallyConsistent) { throw DBError.closed }
        return try await body()
    }

    /// Test-only: the process "dies" here, short of the kernel losing the
    /// page cache (a test may simulate that next, through its `IOSeam`).
    /// Like `close`, it waits for the write group in flight and releases
    /// the LOCK, and it never syncs or writes anything itself; unlike
    /// `close`, background threads exit without flushing a waiting
    /// immutable memtable, and a running flush gives up before its manifest
    /// edit (its table file stays, as after a crash; open deletes it). A
    /// running compaction gives up as on close.
    func abandonForCrashTest() {
        abandoned.store(true, ordering: .relaxed)
        try? close()
    }

    func checkOpenLocked() throws(DBError) {
        mu.assertHeld()
        if closed || closing { throw DBError.closed }
    }

    // MARK: - Background work

    enum BackgroundRole {
        case flush, compaction, flushAndCompaction
        var flushes: Bool { self != .compaction }
        var compacts: Bool { self != .flush }
        /// The thread's name (what `top -H` shows).
        var threadName: String {
            switch self {
            case .flush: return "ringkv-flush"
            case .compaction: return "ringkv-compact"
            case .flushAndCompaction: return "ringkv-bg"
            }
        }
    }

    /// One background thread: flushes the immutable memtables, oldest
    /// switch first (flush roles, always before picking a compaction) and runs automatic
    /// compactions (compaction roles) until close. Holds `mu` except while
    /// working.
    private func backgroundLoop(_ role: BackgroundRole) {
        mu.lock()
        defer { mu.unlock() }
        while true {
            if isAbandoned { return }
            var timeoutNanos: UInt64?
            if role.flushes, let keyspace = flushQueue.first, !flushRunning {
                let now = MonotonicClock.nanos()
                if now >= flushRetryAtNanos {
                    flushLocked(keyspace)
                    continue
                }
                // A failing flush is not retried at close: the WAL still
                // holds the memtable's writes.
                if closing { return }
                timeoutNanos = flushRetryAtNanos - now
            }
            if closing { return }
            if role.compacts, let picked = pickCompactionLocked() {
                runCompactionLocked(picked)
                continue
            }
            if role.compacts, let delay = compactionRetryDelayNanosLocked() {
                timeoutNanos = min(timeoutNanos ?? delay, delay)
            }
            // While loading, L0 may be deeper than its trigger: look again
            // when the phase lapses.
            if role.compacts, let end = loadPhaseEndLocked() {
                let now = MonotonicClock.nanos()
                let delay = end > now ? end - now : 0
                timeoutNanos = min(timeoutNanos ?? delay, delay)
            }
            if let timeoutNanos { backgroundWake.wait(mu, nanoseconds: timeoutNanos) } else { backgroundWake.wait(mu) }
        }
    }

    /// Removes WAL files older than the manifest's log number, tables no
    /// version references, old manifests, and (at open) temp files.
    /// Called without `mu`. Never for a database opened read-only (it
    /// changes nothing on disk), nor once closed (the version set it would
    /// trust may be stale: the directory may have been opened again), nor
    /// while a checkpoint is in progress.
    ///
    /// Order matters: the listing comes first, then the pending outputs,
    /// then the live set. A table in the listing was pending before it was
    /// created; if it is no longer pending its edit was installed before
    /// that read, so the live set read after it names the table (unless a
    /// later edit made it obsolete). Tables of versions still held by
    /// readers and iterators are in the live set too. Deleted tables are
    /// evicted from the table cache (readers that hold one keep its open
    /// descriptor until they let go).
    func deleteObsoleteFiles(includingTemp: Bool = false) {
        let started = mu.withLock { () -> Bool in
            if options.readOnly || closed || fileDeletionsPaused > 0 { return false }
            deletionSweepsRunning += 1
            return true
        }
        guard started else { return }
        defer {
            mu.withLock {
                deletionSweepsRunning -= 1
                mu.broadcast()
            }
        }
        guard let names = try? FileSystem.listDirectory(path) else { return }
        let (currentWal, pending) = mu.withLock { (currentLog?.number, pendingOutputs) }
        let live = versions.liveFileNumbers()
        let logNumber = versions.logNumber
        let manifest = versions.manifestFileNumber
        let retainedLogs = logsRetainedForChanges(names, logNumber: logNumber)
        for name in names {
            guard let (kind, number) = FileNames.parse(name) else { continue }
            let obsolete: Bool
            switch kind {
            case .log: obsolete = number < logNumber && number != currentWal && !retainedLogs.contains(number)
            case .table: obsolete = !live.contains(number) && !pending.contains(number)
            case .manifest: obsolete = number != manifest
            case .temp: obsolete = includingTemp
            case .current, .lock: obsolete = false
            }
            if obsolete {
                if kind == .table {
                    tableCache.evict(number)
                    blockCache.eraseFile(number)
                }
                try? backend.removeFile(path + "/" + name)
            }
        }
    }
}
