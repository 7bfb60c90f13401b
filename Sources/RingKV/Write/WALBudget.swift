/// The bound on the live WAL files (`Options.maxTotalWALSizeBytes`, docs/
/// KEYSPACES.md §WAL retention).
///
/// One WAL serves every keyspace, and a log stays until every keyspace's
/// log number is above it. A keyspace written now and then is never full
/// and never the largest memtable, so nothing would switch it and every
/// log since its first unflushed write would stay. The leader adds up the
/// live logs (`closedLogSizes`, pruned below the database's log number,
/// plus the current one) before each group; past the bound, a keyspace
/// whose unflushed writes reach back to the oldest live log is switched
/// (`memtableToSwitchLocked`) and flushed, which moves its log number up
/// and lets the oldest logs go.
extension DBImpl {
    /// A keyspace to switch because the live WAL files are over their
    /// bound: one with writes in its active memtable and a log number at
    /// or below the oldest live log, nothing waiting to flush, not being
    /// dropped. nil when under the bound or when every such keyspace is
    /// already flushing. Caller holds `mu` and leads the writer queue.
    func keyspaceHoldingOldestLogLocked() -> KeyspaceData? {
        mu.assertHeld()
        guard !closedLogSizes.isEmpty else { return nil }
        let limitBytes = options.effectiveMaxTotalWALSizeBytes
        // Without pruning the sum can only be larger: under the bound, the
        // version set's lock is not taken (this runs before every group).
        var totalBytes = wal.offsetBytes
        for log in closedLogSizes { totalBytes &+= log.sizeBytes }
        guard totalBytes > limitBytes else { return nil }
        let databaseLogNumber = versions.logNumber
        closedLogSizes.removeAll { $0.number < databaseLogNumber }
        guard let oldest = closedLogSizes.first?.number else { return nil }
        totalBytes = wal.offsetBytes
        for log in closedLogSizes { totalBytes &+= log.sizeBytes }
        guard totalBytes > limitBytes else { return nil }
        for keyspace in keyspaceList
        where !keyspace.dropped && !keyspace.dropping && keyspace.imm == nil && keyspace.mem.entryCount > 0 {
            if let logNumber = versions.logNumber(keyspace: keyspace.id), logNumber <= oldest { return keyspace }
        }
        return nil
    }
}
