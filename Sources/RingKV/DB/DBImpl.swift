import RingIO
import Synchronization

/// The engine behind the public `DB`: the writer queue, the memtables, the
/// WAL, the version set and the background worker.
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
    private let lock: FileLock

    let mu = Monitor()
    /// Active memtable (guarded by mu; its contents are lock-free).
    var mem: MemTable
    /// Memtable being flushed, if any (guarded by mu).
    var imm: MemTable?
    /// The log receiving writes (guarded by mu; used outside mu only by the
    /// current group leader).
    var wal: WALWriter
    /// Writers waiting to join a group, the next leader first (guarded by mu).
    var writers: [PendingWrite] = []
    /// Highest sequence whose writes are visible to readers (guarded by mu).
    var lastSequence: SequenceNumber
    /// Highest sequence handed to a group, visible or still in flight
    /// (guarded by mu).
    var allocatedSequence: SequenceNumber
    /// Groups are numbered in sequence order; they complete (memtable
    /// insert, visibility, wake-up) strictly in that order (guarded by mu).
    var nextGroupTicket: UInt64 = 1
    var completedGroupTicket: UInt64 = 0
    var groupsInFlight: Int { Int(nextGroupTicket - 1 - completedGroupTicket) }
    /// Threads inside `commit` now, and a slowly decaying peak of it: how
    /// many writers a leader may expect to gather (guarded by mu).
    var activeWriters = 0
    var recentPeakWriters = 1
    /// In-flight groups written without fdatasync (guarded by mu).
    var unsyncedGroupsInFlight = 0
    /// Set when a WAL write or fsync failed: writes are refused until reopen
    /// (guarded by mu).
    var walFailure: DBError?
    /// The last background (flush) failure, cleared on a later success
    /// (guarded by mu).
    var backgroundFailure: DBError?
    /// Flush running (guarded by mu).
    var flushRunning = false
    /// Table numbers being written and not yet in a version; never deleted
    /// as obsolete (guarded by mu).
    var pendingOutputs: Set<UInt64> = []
    var closing = false
    var closed = false
    private var worker: BackgroundThread?

    init(path: String, options: Options) throws {
        self.path = path
        self.options = options
        let base: any IOBackend = options.forcePosixIO ? PosixBackend() : IOBackends.makeDefault()
        backend = options.faultPlan.map { FaultInjectingBackend(base: base, plan: $0) } ?? base
        let recovered = try DatabaseRecovery.open(path: path, options: options, backend: backend)
        lock = recovered.lock
        versions = recovered.versions
        tableCache = recovered.tableCache
        blockCache = BlockCache(capacityBytes: options.blockCacheSizeBytes)
        mem = options.makeMemTable()
        wal = recovered.wal
        lastSequence = recovered.lastSequence
        allocatedSequence = recovered.lastSequence
        // Files no version references (a crash mid-flush, old WALs and
        // manifests, temp files) go now.
        deleteObsoleteFiles(includingTemp: true)
        let worker = BackgroundThread { [unowned self] in self.backgroundLoop() }
        self.worker = worker
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
        while !writers.isEmpty || groupsInFlight > 0 { mu.wait() }
        mu.broadcast()
        mu.unlock()
        worker?.join()
        mu.lock()
        defer { mu.unlock() }
        worker = nil
        closed = true
        mu.broadcast()
        try? wal.close()
        try? versions.close()
        lock.release()
    }

    func checkOpen() throws {
        if closed || closing { throw DBError.closed }
    }

    // MARK: - Background flush

    private func backgroundLoop() {
        mu.lock()
        defer { mu.unlock() }
        while true {
            while imm == nil && !closing { mu.wait() }
            guard let memtable = imm else { return }
            flushRunning = true
            let logNumber = wal.number
            mu.unlock()
            let started = MonotonicClock.nanos()
            var failure: DBError?
            do {
                try FlushJob.run(memtable, db: self, logNumber: logNumber)
            } catch let e as DBError {
                failure = e
            } catch {
                failure = DBError.invalidArgument("unexpected error \(error)")
            }
            mu.lock()
            flushRunning = false
            if let failure {
                backgroundFailure = failure
                stats.flushFailures.add(1)
                // Retry with back-off; the immutable memtable stays readable.
                mu.wait(nanoseconds: 100_000_000)
                if closing { return }
                continue
            }
            backgroundFailure = nil
            stats.flushes.add(1)
            stats.flushNanos.add(MonotonicClock.nanos() - started)
            imm = nil
            mu.broadcast()
            mu.unlock()
            deleteObsoleteFiles()
            mu.lock()
        }
    }

    /// Removes WAL files older than the manifest's log number, tables no
    /// version references, old manifests, and (at open) temp files.
    /// Called without `mu`.
    func deleteObsoleteFiles(includingTemp: Bool = false) {
        let live = versions.liveFileNumbers()
        let logNumber = versions.logNumber
        let manifest = versions.manifestFileNumber
        guard let names = try? FileSystem.listDirectory(path) else { return }
        let (currentWal, pending) = mu.withLock { (wal.number, pendingOutputs) }
        for name in names {
            guard let (kind, number) = FileNames.parse(name) else { continue }
            let obsolete: Bool
            switch kind {
            case .log: obsolete = number < logNumber && number != currentWal
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
                try? FileSystem.remove(path + "/" + name)
            }
        }
    }
}
