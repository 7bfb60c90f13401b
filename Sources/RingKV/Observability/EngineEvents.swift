import Logging
import Synchronization

/// What the engine tells an operator (docs/ARCHITECTURE.md §Logging and
/// metrics): every event goes to `Options.logger` (swift-log) at a level
/// that fits it, and the timed ones are also recorded in the metrics
/// timers when metrics are exported (`MetricsExporter`).
///
/// Levels: `info` for the normal life of a database (open, recovery
/// summary, each flush and compaction, close), `warning` for what slows
/// writers down (stalls, slowdowns) or loses bytes (recovery dropping a
/// damaged or torn tail), `error` for background work that failed and will
/// be retried. Every message carries the database path as `db` metadata.
final class EngineEvents: Sendable {
    let logger: Logger
    let metrics: MetricsExporter?
    /// When the last slowdown warning was logged (MonotonicClock).
    private let lastSlowdownWarningNanos = Atomic<UInt64>(0)

    init(path: String, logger: Logger, metrics: MetricsExporter?) {
        var logger = logger
        logger[metadataKey: "db"] = .string(path)
        self.logger = logger
        self.metrics = metrics
    }

    // MARK: - Open and close

    func opened(tables: Int, lastSequence: UInt64, logsReplayed: Int, batchesReplayed: Int,
                ioBackend: String, readOnly: Bool, durationNanos: UInt64) {
        logger.info("opened database", metadata: [
            "tables": "\(tables)", "last_sequence": "\(lastSequence)", "logs_replayed": "\(logsReplayed)",
            "batches_replayed": "\(batchesReplayed)", "io_backend": .string(ioBackend),
            "read_only": "\(readOnly)", "duration_ms": .string(Self.millis(durationNanos)),
        ])
    }

    /// A read-only open that could not create the missing LOCK file
    /// (DatabaseRecovery.takeLock).
    func openedWithoutLock(_ reason: String) {
        logger.warning("opened read-only without a lock", metadata: ["reason": .string(reason)])
    }

    /// io_uring_setup was refused (seccomp, `kernel.io_uring_disabled`):
    /// every path of this database uses plain syscalls.
    func ioUringUnavailable(_ notice: String) {
        logger.warning("io_uring unavailable; using plain syscalls", metadata: ["reason": .string(notice)])
    }

    /// Recovery dropped `bytes` bytes of `file` from `offset` on.
    func recoveryDropped(file: String, offset: UInt64, bytes: UInt64, reason: String, keptAt: String?) {
        logger.warning("recovery dropped bytes", metadata: [
            "file": .string(file), "offset": "\(offset)", "bytes": "\(bytes)", "reason": .string(reason),
            "kept_at": .string(keptAt ?? "(not kept)"),
        ])
    }

    /// A WAL retired at a memtable switch could not be cut to its written
    /// end (WALWriter.truncate): its preallocated tail stays on disk until
    /// the log is deleted; nothing else changes.
    func retiredLogNotCut(file: String, error: DBError) {
        logger.warning("retired WAL keeps its preallocated tail", metadata: [
            "file": .string(file), "error": .string(error.description),
        ])
    }

    func closed() {
        logger.info("closed database")
    }

    func keyspaceCreated(name: String, id: UInt32) {
        logger.info("created keyspace", metadata: ["keyspace": .string(name), "id": "\(id)"])
    }

    func keyspaceDropped(name: String, id: UInt32) {
        logger.info("dropped keyspace", metadata: ["keyspace": .string(name), "id": "\(id)"])
    }

    // MARK: - Background work

    func flushed(tableNumber: UInt64?, entries: Int, tableBytes: UInt64, durationNanos: UInt64) {
        metrics?.flushDuration.recordNanoseconds(Int64(clamping: durationNanos))
        logger.info("flushed memtable", metadata: [
            "table": .string(tableNumber.map { FileNames.padded($0) + ".sst" } ?? "(none: empty memtable)"),
            "entries": "\(entries)", "bytes": "\(tableBytes)", "duration_ms": .string(Self.millis(durationNanos)),
        ])
    }

    func flushFailed(_ error: DBError, retryInMillis: Int) {
        logger.error("flush failed; retrying", metadata: [
            "error": .string(error.description), "retry_in_ms": "\(retryInMillis)",
        ])
    }

    func compacted(_ compaction: Compaction, inputs: Int, outputs: Int, bytesRead: UInt64, bytesWritten: UInt64,
                   entriesDropped: UInt64, trivialMove: Bool, durationNanos: UInt64) {
        metrics?.compactionDuration.recordNanoseconds(Int64(clamping: durationNanos))
        logger.info(trivialMove ? "moved table down a level" : "compacted", metadata: [
            "from_level": "\(compaction.level)", "to_level": "\(compaction.outputLevel)",
            "reason": .string(compaction.reason.rawValue), "inputs": "\(inputs)", "outputs": "\(outputs)",
            "bytes_read": "\(bytesRead)", "bytes_written": "\(bytesWritten)",
            "entries_dropped": "\(entriesDropped)", "duration_ms": .string(Self.millis(durationNanos)),
        ])
    }

    func compactionFailed(_ error: DBError, retryInMillis: UInt64) {
        logger.error("compaction failed; retrying", metadata: [
            "error": .string(error.description), "retry_in_ms": "\(retryInMillis)",
        ])
    }

    // MARK: - Writers waiting

    /// A writer waited `durationNanos` for a flush or for L0 compaction.
    func stalled(durationNanos: UInt64, l0Files: Int, reason: String) {
        metrics?.stallDuration.recordNanoseconds(Int64(clamping: durationNanos))
        logger.warning("write stall", metadata: [
            "reason": .string(reason), "l0_files": "\(l0Files)", "duration_ms": .string(Self.millis(durationNanos)),
        ])
    }

    /// A write was delayed because L0 reached the slowdown trigger. Logged
    /// at most once a second (a slowdown delays every write while it lasts),
    /// with the number of delayed writes so far.
    func slowedDown(l0Files: Int, trigger: Int, slowdownsSoFar: UInt64) {
        let now = MonotonicClock.nanos()
        let last = lastSlowdownWarningNanos.load(ordering: .relaxed)
        guard last == 0 || now - last >= 1_000_000_000,
              lastSlowdownWarningNanos.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        else { return }
        logger.warning("write slowdown: L0 at its slowdown trigger", metadata: [
            "l0_files": "\(l0Files)", "trigger": "\(trigger)", "slowdowns_so_far": "\(slowdownsSoFar)",
        ])
    }

    static func millis(_ nanos: UInt64) -> String {
        let hundredths = nanos / 10_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
