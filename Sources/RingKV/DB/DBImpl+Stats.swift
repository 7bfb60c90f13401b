/// `DB.stats()`: one `DBStats` from the engine's counters (StatsCounters),
/// the current version, the caches and the WAL, taken under `mu` so the
/// memtable sizes and the last sequence belong to one moment.
extension DBImpl {
    func makeStats() -> DBStats {
        mu.withLock { makeStatsLocked() }
    }

    /// `makeStats` for a caller that holds `mu`.
    func makeStatsLocked() -> DBStats {
        mu.assertHeld()
        let perKeyspace = keyspaceList.map { keyspaceStatsLocked($0) }
        let memBytes = perKeyspace.reduce(0) { $0 + $1.memtableBytes }
        let immBytes = perKeyspace.reduce(0) { $0 + $1.immutableMemtableBytes }
        let sequence = lastSequence
        let flushed = stats.flushBytesWritten.current
        let compactionWritten = stats.compactionBytesWritten.current
        let levels = (0..<Version.numLevels).map { level in
            DBStats.Level(level: level, files: perKeyspace.reduce(0) { $0 + $1.levels[level].files },
                          bytes: perKeyspace.reduce(0) { $0 + $1.levels[level].bytes })
        }
        var s = DBStats(levels: levels, memtableBytes: memBytes, immutableMemtableBytes: immBytes,
                       lastSequence: sequence, walGroups: stats.walGroups.current,
                       walSyncedGroups: stats.walSyncedGroups.current, walBytes: stats.walBytes.current,
                       writeBatches: stats.writes.current, flushes: stats.flushes.current,
                       flushFailures: stats.flushFailures.current, flushBytesWritten: stats.flushBytesWritten.current,
                       stalls: stats.stalls.current, stallMicros: stats.stallNanos.current / 1000,
                       slowdowns: stats.slowdowns.current, slowdownMicros: stats.slowdownNanos.current / 1000,
                       compactions: stats.compactions.current, trivialMoves: stats.trivialMoves.current,
                       compactionFailures: stats.compactionFailures.current,
                       compactionMicros: stats.compactionNanos.current / 1000,
                       compactionBytesRead: stats.compactionBytesRead.current,
                       compactionBytesWritten: compactionWritten,
                       writeAmplification: flushed == 0 ? 0 : Double(flushed + compactionWritten) / Double(flushed),
                       openTables: tableCache.openCount, liveSnapshots: snapshots.count,
                       ioBackend: backend.usesIOUring ? .ioUring : .posix)
        s.peakL0Files = Int(stats.peakL0Files.current)
        s.recoveryBatchesReplayed = stats.recoveryBatchesReplayed.current
        s.recoveryDrops = stats.recoveryDrops.current
        s.recoveryDroppedBytes = stats.recoveryDroppedBytes.current
        s.lostFiles = recovery.lostFiles
        s.walIOBackend = walIOPath
        s.levelBytesWritten = stats.levelBytesWritten.map(\.current)
        s.pinnedTableMemoryBytes = tableCache.pinnedMemoryBytes
        s.tableOpenBlocksRead = tableCache.blocksReadByOpens
        s.keyspaces = Dictionary(uniqueKeysWithValues: perKeyspace.map { ($0.name, $0) })
        fillBlockCacheStats(&s)
        return s
    }

    /// `keyspace`'s levels, memtables and counters. Caller holds `mu`.
    func keyspaceStatsLocked(_ keyspace: KeyspaceData) -> KeyspaceStats {
        mu.assertHeld()
        let version = versions.current(keyspace: keyspace.id) ?? .empty
        return KeyspaceStats(name: keyspace.name,
                             levels: (0..<Version.numLevels).map {
                                 DBStats.Level(level: $0, files: version.fileCount($0), bytes: version.levelBytes($0))
                             },
                             memtableBytes: keyspace.mem.approximateMemoryUsageBytes,
                             immutableMemtableBytes: keyspace.imm?.approximateMemoryUsageBytes ?? 0,
                             flushes: keyspace.flushes.current, flushBytesWritten: keyspace.flushBytesWritten.current,
                             compactions: keyspace.compactions.current,
                             compactionBytesWritten: keyspace.compactionBytesWritten.current)
    }

    // Block cache and batched reads (h2-cache)
    private func fillBlockCacheStats(_ s: inout DBStats) {
        let cache = blockCache.statistics
        s.blockCacheCapacityBytes = cache.capacityBytes
        s.blockCacheUsageBytes = cache.usageBytes
        s.blockCacheEntries = cache.entryCount
        s.blockCacheHits = cache.hits
        s.blockCacheMisses = cache.misses
        s.blockCacheEvictions = cache.evictions
        s.lookupReadBatches = stats.lookupReadBatches.current
        s.lookupBlocksRead = stats.lookupBlocksRead.current
        s.iteratorBlocksRead = stats.iteratorBlocksRead.current
        s.iteratorSeekBatches = stats.iteratorSeekBatches.current
    }
}

