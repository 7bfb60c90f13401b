/// A point-in-time picture of the engine (`DB.stats()`).
public struct DBStats: Sendable, CustomStringConvertible {
    /// One level of the LSM tree: how many tables it holds and their bytes.
    public struct Level: Sendable {
        /// 0 for L0 (overlapping tables), 1… for the sorted levels.
        public var level: Int
        /// Tables in the level.
        public var files: Int
        /// Their total size on disk.
        public var bytes: UInt64
    }
    /// Every level, L0 first: the tables of all keyspaces together (each
    /// keyspace's own in `keyspaces`).
    public var levels: [Level]
    /// Memory held by the active memtables (of all keyspaces).
    public var memtableBytes: Int
    /// Memory held by the memtables being flushed (0 when none is).
    public var immutableMemtableBytes: Int
    /// Sequence number of the newest visible write.
    public var lastSequence: UInt64
    /// WAL groups written, and how many carried an fdatasync.
    public var walGroups: UInt64
    /// WAL groups that ended with an fdatasync (a member asked for `sync`).
    public var walSyncedGroups: UInt64
    /// Bytes appended to WAL files (record headers included).
    public var walBytes: UInt64
    /// Batches committed (each group holds one or more).
    public var writeBatches: UInt64
    /// Memtables written to L0 tables.
    public var flushes: UInt64
    /// Flush attempts that failed (each is retried with back-off).
    public var flushFailures: UInt64
    /// Table bytes written by flushes.
    public var flushBytesWritten: UInt64
    /// The most L0 tables the database had at once since it was opened
    /// (the count at open, then after each flush installed a table) — how
    /// close a load came to `l0SlowdownTrigger` / `l0StopTrigger`.
    public var peakL0Files: Int = 0
    /// Writers that had to wait (for a flush, or for compaction with L0 at
    /// `l0StopTrigger`), and for how long in total.
    public var stalls: UInt64
    /// Total time writers spent stalled.
    public var stallMicros: UInt64
    /// Sleeps of write group leaders paced because L0 reached
    /// `l0SlowdownTrigger` (each sleeps off at least 1 ms of delay that the
    /// groups before it owe; `WritePacer`).
    public var slowdowns: UInt64
    /// Total time writers spent slowed down.
    public var slowdownMicros: UInt64
    /// Installed compactions (trivial moves — a table moved down a level
    /// by a manifest edit alone — included), failed attempts (retried).
    public var compactions: UInt64
    /// Compactions that moved a table down a level by a manifest edit alone.
    public var trivialMoves: UInt64
    /// Compaction attempts that failed (retried with back-off).
    public var compactionFailures: UInt64
    /// Time spent in installed compactions, and the table bytes they read
    /// and wrote.
    public var compactionMicros: UInt64
    /// Table bytes read by installed compactions.
    public var compactionBytesRead: UInt64
    /// Table bytes written by installed compactions.
    public var compactionBytesWritten: UInt64
    /// Table bytes written (flush + compaction) per byte flushed: how many
    /// times each byte reaching L0 is rewritten, plus one. 0 before the
    /// first flush.
    public var writeAmplification: Double
    /// Table files held open by the table cache.
    public var openTables: Int
    /// Table bytes written into each level, L0 first: flushes into L0,
    /// compactions into their output level (every finished output, also
    /// of a compaction discarded afterwards). Divided by the bytes users
    /// wrote, the write amplification of each level.
    public var levelBytesWritten: [UInt64] = []
    /// Memory the open tables hold for point reads — index blocks, their
    /// search keys, bloom filters, range tombstones — kept for each open
    /// table's life so a get reads at most its one data block. Bounded by
    /// `Options.maxOpenFiles` tables (about 1 MiB per 64 MiB table of
    /// 1 KB values).
    public var pinnedTableMemoryBytes: Int = 0
    /// Blocks read from table files when tables were opened (footer,
    /// index, filter, properties, range deletion block).
    public var tableOpenBlocksRead: UInt64 = 0

    // MARK: Recovery at open
    /// Write batches replayed from the WAL when the database was opened.
    public var recoveryBatchesReplayed: UInt64 = 0
    /// Stretches of WAL or MANIFEST that recovery did not replay — a torn
    /// tail left by a power loss, or damage — and their bytes. Each was
    /// copied to the database's `lost/` directory first (never dropped
    /// silently; `kvctl verify` lists them).
    public var recoveryDrops: UInt64 = 0
    /// Bytes in those stretches.
    public var recoveryDroppedBytes: UInt64 = 0
    /// Files in `lost/` at open, from this open and earlier ones.
    public var lostFiles: Int = 0
    /// Snapshots taken and not yet released.
    public var liveSnapshots: Int
    /// How tables and logs are read and written: `.ioUring`, or `.posix`
    /// where io_uring is refused or `Options.forcePosixIO` is set.
    public var ioBackend: IOPath
    /// How the WAL writes synced groups: `.ioUring` (write_fixed linked to
    /// fdatasync on a ring of its own) or `.posix` (pwrite + fdatasync);
    /// nil when opened read-only. Unsynced groups are one pwrite either
    /// way.
    public var walIOBackend: IOPath?

    // MARK: Block cache and batched reads (h2-cache)
    /// Block cache capacity (`Options.blockCacheSizeBytes`) and bytes held.
    public var blockCacheCapacityBytes: Int = 0
    /// Bytes the block cache holds now (blocks plus their bookkeeping).
    public var blockCacheUsageBytes: Int = 0
    /// Data blocks in the block cache.
    public var blockCacheEntries: Int = 0
    /// Block cache lookups that found / did not find their block.
    public var blockCacheHits: UInt64 = 0
    /// Block cache lookups that had to read the block.
    public var blockCacheMisses: UInt64 = 0
    /// Blocks dropped to make room.
    public var blockCacheEvictions: UInt64 = 0
    /// `readBatch` calls made by get/multiGet (one per lookup round), and
    /// the data blocks they read.
    public var lookupReadBatches: UInt64 = 0
    /// Data blocks read from table files by get/multiGet.
    public var lookupBlocksRead: UInt64 = 0
    /// Data blocks read from table files by iterators and scans (alone or
    /// in read-ahead windows; not cache hits). Bounds keep it from
    /// counting blocks outside them.
    public var iteratorBlocksRead: UInt64 = 0
    /// Iterator seeks that read the blocks of several tables at once (one
    /// batch, several reads in flight) before positioning each table.
    public var iteratorSeekBatches: UInt64 = 0
    /// Every live keyspace by name ("default" included): its levels,
    /// memtables, flushes and compactions.
    public var keyspaces: [String: KeyspaceStats] = [:]

    /// hits / (hits + misses), 0 before the first lookup.
    public var blockCacheHitRate: Double {
        let total = blockCacheHits + blockCacheMisses
        return total == 0 ? 0 : Double(blockCacheHits) / Double(total)
    }
    // END block cache and batched reads

    /// `value` with two decimals, without Foundation.
    static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// A multi-line human-readable report (what `kvctl stats` prints).
    public var description: String {
        var lines = ["level  files        bytes"]
        for l in levels where l.files > 0 {
            lines.append("L\(l.level)     \(l.files)      \(l.bytes)")
        }
        if keyspaces.count > 1 {
            lines.append("keyspaces \(keyspaces.count): " + keyspaces.values.sorted { $0.name < $1.name }
                .map { "\($0.name) \($0.files) files \($0.bytes) B" }.joined(separator: ", "))
        }
        lines.append("memtable \(memtableBytes) B, immutable \(immutableMemtableBytes) B, last sequence \(lastSequence)")
        lines.append("wal groups \(walGroups) (\(walSyncedGroups) synced), \(writeBatches) batches, \(walBytes) B")
        lines.append("flushes \(flushes) (\(flushFailures) failed), \(flushBytesWritten) B written, "
                     + "peak L0 files \(peakL0Files)")
        lines.append("compactions \(compactions) (\(trivialMoves) trivial moves, \(compactionFailures) failed), "
                     + "\(compactionMicros) us, read \(compactionBytesRead) B, wrote \(compactionBytesWritten) B, "
                     + "write amplification \(DBStats.twoDecimals(writeAmplification))")
        lines.append("stalls \(stalls), \(stallMicros) us; slowdowns \(slowdowns), \(slowdownMicros) us")
        lines.append("table bytes written per level " + levelBytesWritten.map { "\($0)" }.joined(separator: " ")
                     + "; pinned table memory \(pinnedTableMemoryBytes) B, blocks read by table opens \(tableOpenBlocksRead)")
        let walPath = walIOBackend.map { "\($0)" } ?? "none"
        lines.append("open tables \(openTables); snapshots \(liveSnapshots); io \(ioBackend), WAL \(walPath)")
        lines.append("recovery replayed \(recoveryBatchesReplayed) batches, dropped \(recoveryDrops) tails "
                     + "(\(recoveryDroppedBytes) B); \(lostFiles) files in lost/")
        // Block cache and batched reads (h2-cache)
        lines.append("block cache \(blockCacheUsageBytes)/\(blockCacheCapacityBytes) B, \(blockCacheEntries) blocks, "
            + "hits \(blockCacheHits), misses \(blockCacheMisses), evictions \(blockCacheEvictions); "
            + "lookup read batches \(lookupReadBatches), blocks read \(lookupBlocksRead); "
            + "iterator blocks read \(iteratorBlocksRead)")
        return lines.joined(separator: "\n")
    }
}
