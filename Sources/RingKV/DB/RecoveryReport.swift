/// What one open's recovery did: which MANIFEST and logs it replayed, what
/// it dropped and why, and where the dropped bytes were kept. Built by
/// `DatabaseRecovery`, published once by `DBImpl` (`publish`), shown in
/// `DB.stats()`.
struct RecoveryReport: Sendable {
    /// One stretch of bytes recovery did not replay.
    struct Drop: Sendable {
        /// The WAL or MANIFEST the bytes came from.
        var source: String
        var tail: DroppedTail
        /// Their copy under `lost/`; nil when opened read-only (nothing is
        /// written: the next writing open keeps them).
        var lostPath: String?
    }

    /// One WAL replayed into the memtables.
    struct ReplayedLog: Sendable {
        var path: String
        var batches: UInt64
        /// Where its valid records end.
        var validBytes: UInt64
    }

    /// nil for a new database.
    var manifestPath: String?
    var manifestRecords = 0
    var logs: [ReplayedLog] = []
    /// L0 tables written from the replayed logs.
    var tablesWritten = 0
    var drops: [Drop] = []
    /// Files under `lost/` after this open (earlier opens' drops included).
    var lostFiles = 0

    var batchesReplayed: UInt64 { logs.reduce(0) { $0 + $1.batches } }
    var droppedBytes: UInt64 { drops.reduce(0) { $0 + $1.tail.byteCount } }

    /// One line per fact, for messages and tools.
    var lines: [String] {
        var lines: [String] = []
        if let manifestPath { lines.append("replayed \(manifestRecords) edits of \(manifestPath)") }
        for log in logs {
            lines.append("replayed \(log.batches) batches of \(log.path) (\(log.validBytes) bytes)")
        }
        if tablesWritten > 0 { lines.append("wrote \(tablesWritten) L0 tables from the logs") }
        for drop in drops {
            let kind = drop.tail.isCorruption ? "damaged" : "torn (unsynced)"
            lines.append("dropped \(drop.tail.byteCount) bytes at offset \(drop.tail.offset) of \(drop.source): "
                         + "\(kind) tail, \(drop.tail.reason); "
                         + (drop.lostPath.map { "kept in \($0)" } ?? "not kept (read-only open)"))
        }
        return lines
    }
}

extension DBImpl {
    /// THE place where an open's recovery account is published: counted
    /// for `DB.stats()` (the report is kept as `recovery`), and every drop
    /// logged at warning with its reason and its `lost/` path
    /// (`Options.logger`); the replay itself goes into the "opened
    /// database" event.
    func publish(_ report: RecoveryReport) {
        stats.recoveryBatchesReplayed.add(report.batchesReplayed)
        stats.recoveryDrops.add(UInt64(report.drops.count))
        stats.recoveryDroppedBytes.add(report.droppedBytes)
        for drop in report.drops {
            let kind = drop.tail.isCorruption ? "damaged (kept open: paranoidChecks is false)" : "torn (unsynced)"
            events.recoveryDropped(file: drop.source, offset: drop.tail.offset, bytes: drop.tail.byteCount,
                                   reason: "\(kind) tail: \(drop.tail.reason)", keptAt: drop.lostPath)
        }
    }
}
