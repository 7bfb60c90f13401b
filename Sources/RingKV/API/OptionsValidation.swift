/// The checks `DB.init` runs on `Options` before touching the disk: a
/// value the engine cannot work with is refused with
/// `DBError.invalidOption` naming the option, the allowed range and the
/// value given — never clamped silently, never a trap later.
extension Options {
    /// Fewest `maxOpenFiles` accepted: the table cache keeps at least 8
    /// tables open, and the engine's own descriptors (WAL, MANIFEST, LOCK,
    /// rings) need a few more.
    public static let minOpenFiles = 16
    /// Largest `blockSizeBytes` accepted (block payloads above 1 GiB are
    /// rejected by readers, docs/FORMAT.md §SSTable; 64 MiB keeps a block a
    /// sane unit of reading and caching).
    public static let maxBlockSizeBytes = 64 << 20
    /// Largest `targetFileSizeBytes` accepted (256 GiB): outputs stay far
    /// below the 1 TiB a MANIFEST may name for one table.
    public static let maxTargetFileSizeBytes: UInt64 = 256 << 30

    func validate() throws(DBError) {
        try Options.require(memtableSizeBytes >= 1, "memtableSizeBytes", memtableSizeBytes, "at least 1")
        try Options.require(totalMemtableSizeBytes >= 0, "totalMemtableSizeBytes", totalMemtableSizeBytes,
                            "0 (4 × memtableSizeBytes) or more")
        try Options.require(maxTotalWALSizeBytes >= 0, "maxTotalWALSizeBytes", maxTotalWALSizeBytes,
                            "0 (4 × the memtable budget) or more")
        try Options.require((1...Options.maxBlockSizeBytes).contains(blockSizeBytes), "blockSizeBytes",
                            blockSizeBytes, "between 1 and \(Options.maxBlockSizeBytes)")
        // The keyspace option's bound: far more bits per key overflowed
        // the filter's size (keys × bits) in the first flush.
        try Options.require((0...KeyspaceOptions.maxBloomBitsPerKey).contains(bloomBitsPerKey), "bloomBitsPerKey",
                            bloomBitsPerKey, "0 (no filter) to \(KeyspaceOptions.maxBloomBitsPerKey)")
        try Options.require(blockCacheSizeBytes >= 0, "blockCacheSizeBytes", blockCacheSizeBytes, "0 or more")
        try Options.require(l0CompactionTrigger >= 1, "l0CompactionTrigger", l0CompactionTrigger, "at least 1")
        try Options.require(l0CompactionTriggerWhileLoading >= 1, "l0CompactionTriggerWhileLoading",
                            l0CompactionTriggerWhileLoading, "at least 1")
        try Options.require(l0SlowdownTrigger >= 1, "l0SlowdownTrigger", l0SlowdownTrigger, "at least 1")
        try Options.require(l0StopTrigger >= 1, "l0StopTrigger", l0StopTrigger, "at least 1")
        try Options.require(l1TargetSizeBytes >= 1, "l1TargetSizeBytes", l1TargetSizeBytes, "at least 1")
        try Options.require(levelSizeMultiplier >= 1, "levelSizeMultiplier", levelSizeMultiplier, "at least 1")
        try Options.require((1...Options.maxTargetFileSizeBytes).contains(targetFileSizeBytes), "targetFileSizeBytes",
                            targetFileSizeBytes, "between 1 and \(Options.maxTargetFileSizeBytes) (256 GiB)")
        try Options.require((0...1_000_000).contains(readPollMicros), "readPollMicros", readPollMicros,
                            "0 (sleep at once) to 1,000,000 (one second)")
        try Options.require(compactionWriteBytesPerSecond >= 0, "compactionWriteBytesPerSecond",
                            compactionWriteBytesPerSecond, "0 (no limit) or more")
        try Options.require(backgroundJobs >= 1, "backgroundJobs", backgroundJobs, "at least 1")
        try Options.require(maxOpenFiles >= Options.minOpenFiles, "maxOpenFiles", maxOpenFiles,
                            "at least \(Options.minOpenFiles) (the table cache keeps 8 tables open, "
                                + "plus the WAL, MANIFEST, LOCK and rings)")
        try Options.require(walBufferCount >= 1, "walBufferCount", walBufferCount, "at least 1")
        try Options.require(walBufferSizeBytes >= 4096, "walBufferSizeBytes", walBufferSizeBytes,
                            "at least 4096 (one page)")
        try Options.require((0...1_000_000).contains(groupCommitMaxDelayMicros), "groupCommitMaxDelayMicros",
                            groupCommitMaxDelayMicros, "0 (no wait) … 1000000")
        try Options.require((0...1_000_000).contains(groupCommitSpinMicros), "groupCommitSpinMicros",
                            groupCommitSpinMicros, "0 (sleep at once) … 1000000")
        try Options.require(changeRetentionBytes >= 0, "changeRetentionBytes", changeRetentionBytes, "0 or more")
        try Options.require(metricsIntervalMillis >= 0, "metricsIntervalMillis", metricsIntervalMillis,
                            "0 (metrics off) or more")
    }

    private static func require(_ ok: Bool, _ name: String, _ value: some BinaryInteger,
                                _ allowed: String) throws(DBError) {
        if !ok { throw DBError.invalidOption(name: name, value: "\(value)", allowed: allowed) }
    }
}
