/// Chooses the next automatic compaction (LevelDB's leveled scheme):
///
/// - every level but the last gets a score: L0 its file count over
///   `l0CompactionTrigger` (`l0CompactionTriggerWhileLoading` while the
///   database is loading, `LoadPhase`), Ln (n >= 1) its bytes over its target
///   `l1TargetSizeBytes * levelSizeMultiplier^(n-1)`;
/// - levels scoring >= 1 are tried highest score first;
/// - L0 -> L1 takes the oldest L0 table, every L0 table overlapping it
///   (transitively), and the L1 tables overlapping their range;
/// - Ln -> Ln+1 takes the table whose Ln+1 overlap is smallest for its
///   size (RocksDB's kMinOverlappingRatio; ties go round robin from the
///   level's compact pointer) and the Ln+1 tables it overlaps, plus every
///   other Ln table under those same Ln+1 tables (`expanded`).
///
/// A candidate that conflicts with a running compaction of its keyspace
/// (the one `state` is restricted to, `CompactionState.restricted(to:)`)
/// is skipped (the next table of the level is tried). Pure: no I/O, no
/// locks.
struct CompactionPicker {
    let options: Options
    /// The database is loading (`LoadPhase`): L0 may grow to
    /// `l0CompactionTriggerWhileLoading` tables.
    var loading = false

    /// An output table stops growing once it overlaps this many bytes of
    /// the grandparent level (level + 2), and a trivial move is refused
    /// above it: later compactions of the table stay bounded.
    var maxGrandparentOverlapBytes: UInt64 { Self.saturatingMultiply(options.targetFileSizeBytes, 10) }

    /// Target size of `level` (>= 1).
    func maxBytes(forLevel level: Int) -> UInt64 {
        precondition(level >= 1, "L0 is limited by file count, not bytes")
        var bytes = max(options.l1TargetSizeBytes, 1)
        for _ in 1..<level { bytes = Self.saturatingMultiply(bytes, max(options.levelSizeMultiplier, 1)) }
        return bytes
    }

    /// The L0 file count that calls for a compaction; never above the stop
    /// trigger, or writers stopped there would wait for nothing. While
    /// loading, the larger loading trigger, kept below the slowdown
    /// trigger (a load is not paced for the sake of fewer rewrites).
    var level0Trigger: Int {
        let trigger = max(1, min(options.l0CompactionTrigger, options.l0StopTrigger))
        guard loading else { return trigger }
        let whileLoading = min(options.l0CompactionTriggerWhileLoading, options.l0SlowdownTrigger - 1,
                               options.l0StopTrigger)
        return max(trigger, whileLoading)
    }

    /// Score of every level that can be compacted (all but the last).
    func score(of level: Int, in version: Version) -> Double {
        if level == 0 { return Double(version.fileCount(0)) / Double(level0Trigger) }
        return Double(version.levelBytes(level)) / Double(maxBytes(forLevel: level))
    }

    /// Levels scoring >= 1, highest first.
    func levelsNeedingCompaction(_ version: Version) -> [(level: Int, score: Double)] {
        (0..<(Version.numLevels - 1))
            .map { (level: $0, score: score(of: $0, in: version)) }
            .filter { $0.score >= 1 }
            .sorted { $0.score > $1.score }
    }

    /// The compaction to run next, or nil when no level needs one or every
    /// candidate conflicts with `state`'s running compactions. When no level
    /// needs one, `seekCandidate` — a table reads keep searching in vain
    /// (`FileMetaData.allowedSeeks` ran out) — is compacted into the next
    /// level, so a read-only workload does not search it for ever.
    func pick(version: Version, compactPointers: [[UInt8]?], state: CompactionState,
              seekCandidate: (level: Int, file: FileMetaData)? = nil) -> Compaction? {
        for (level, score) in levelsNeedingCompaction(version) {
            let picked = level == 0
                ? pickLevel0(version: version, state: state, score: score)
                : pickLevel(level, version: version, pointer: compactPointers[level], state: state, score: score)
            if let picked { return picked }
        }
        if let seekCandidate { return pickForSeeks(seekCandidate.level, seekCandidate.file, version: version, state: state) }
        return nil
    }

    /// `file` of `level` and what it must take along (for L0 the tables
    /// overlapping it), merged into the next level; nil when the table is
    /// gone, sits in the last level, or conflicts with a running compaction.
    private func pickForSeeks(_ level: Int, _ file: FileMetaData, version: Version,
                              state: CompactionState) -> Compaction? {
        guard level < Version.numLevels - 1, version.files[level].contains(where: { $0.number == file.number }),
              !state.isBusy(file) else { return nil }
        var inputs = [file]
        if level == 0 {
            guard !state.isLevel0Running else { return nil }
            inputs = Self.level0Closure(of: file, in: version.files[0])
        }
        let range = Self.userKeyRange(inputs)
        let next = version.overlappingFiles(level: level + 1, smallestUserKey: range.smallest, largestUserKey: range.largest)
        let compaction = Compaction(level: level, outputLevel: level + 1, inputs: inputs, outputLevelInputs: next,
                                    version: version, reason: .seeks, score: 0)
        return state.conflicts(compaction) ? nil : compaction
    }

    // MARK: - Level 0

    private func pickLevel0(version: Version, state: CompactionState, score: Double) -> Compaction? {
        // One L0 compaction at a time: two could each leave behind an older
        // table the other needs, and L1 would receive overlapping outputs.
        guard !state.isLevel0Running, let oldest = version.files[0].last else { return nil }
        let inputs = Self.level0Closure(of: oldest, in: version.files[0])
        let range = Self.userKeyRange(inputs)
        let level1 = version.overlappingFiles(level: 1, smallestUserKey: range.smallest, largestUserKey: range.largest)
        let compaction = Compaction(level: 0, outputLevel: 1, inputs: inputs, outputLevelInputs: level1,
                                    version: version, reason: .level0FileCount, score: score)
        return state.conflicts(compaction) ? nil : compaction
    }

    /// `seed` and every L0 table whose user-key range meets the growing
    /// range, until nothing more is added; in the level's order (newest
    /// first). Leaving out an overlapping older table would let its stale
    /// entries shadow the compacted ones, since L0 is searched before L1.
    static func level0Closure(of seed: FileMetaData, in level0: [FileMetaData]) -> [FileMetaData] {
        var chosen: Set<UInt64> = [seed.number]
        var smallest = seed.smallestUserKey, largest = seed.largestUserKey
        var grew = true
        while grew {
            grew = false
            for f in level0 where !chosen.contains(f.number)
                && f.overlaps(smallestUserKey: smallest, largestUserKey: largest) {
                chosen.insert(f.number)
                if compareBytes(f.smallestUserKey, smallest) < 0 { smallest = f.smallestUserKey }
                if compareBytes(f.largestUserKey, largest) > 0 { largest = f.largestUserKey }
                grew = true
            }
        }
        return level0.filter { chosen.contains($0.number) }
    }

    // MARK: - Levels 1...

    private func pickLevel(_ level: Int, version: Version, pointer: [UInt8]?, state: CompactionState,
                           score: Double) -> Compaction? {
        let files = version.files[level]
        guard !files.isEmpty else { return nil }
        var start = 0
        if let pointer, let after = files.firstIndex(where: { compareInternalKeys($0.largest, pointer) > 0 }) {
            start = after
        }
        // Every free table with its overlap ratio, in round-robin order
        // from the compact pointer; the lowest ratio goes first, ties in
        // that order.
        var candidates: [(ratio: UInt64, step: Int, file: FileMetaData, next: [FileMetaData])] = []
        candidates.reserveCapacity(files.count)
        for step in 0..<files.count {
            let file = files[(start + step) % files.count]
            if state.isBusy(file) { continue }
            let next = version.overlappingFiles(level: level + 1, smallestUserKey: file.smallestUserKey,
                                                largestUserKey: file.largestUserKey)
            candidates.append((Self.overlapRatio(file, next), step, file, next))
        }
        candidates.sort { ($0.ratio, $0.step) < ($1.ratio, $1.step) }
        for candidate in candidates {
            let compaction = Compaction(level: level, outputLevel: level + 1, inputs: [candidate.file],
                                        outputLevelInputs: candidate.next, version: version, reason: .levelSize,
                                        score: score)
            if state.conflicts(compaction) { continue }
            if let expanded = expanded(compaction, version: version, state: state) { return expanded }
            return compaction
        }
        return nil
    }

    /// The most a level compaction grows to by `expanded` (inputs and the
    /// next level's tables together): RocksDB's default
    /// `max_compaction_bytes`, 25 target files.
    var maxExpandedCompactionBytes: UInt64 { Self.saturatingMultiply(options.targetFileSizeBytes, 25) }

    /// `compaction` with every other table of its level that lies under the
    /// same next-level tables (LevelDB's and RocksDB's input expansion):
    /// merged one at a time, each of them would rewrite those next-level
    /// tables again. Nil when nothing is gained: no next-level tables (a
    /// trivial move stays one), no further table of the level, the
    /// expansion would take more next-level tables, a busy table, or more
    /// than `maxExpandedCompactionBytes`.
    func expanded(_ compaction: Compaction, version: Version, state: CompactionState) -> Compaction? {
        let level = compaction.level
        guard level >= 1, !compaction.outputLevelInputs.isEmpty else { return nil }
        let range = Self.userKeyRange(compaction.allInputs)
        let inputs = version.overlappingFiles(level: level, smallestUserKey: range.smallest, largestUserKey: range.largest)
        guard inputs.count > compaction.inputs.count, !inputs.contains(where: state.isBusy) else { return nil }
        let inputRange = Self.userKeyRange(inputs)
        let next = version.overlappingFiles(level: level + 1, smallestUserKey: inputRange.smallest,
                                            largestUserKey: inputRange.largest)
        guard next.map(\.number) == compaction.outputLevelInputs.map(\.number) else { return nil }
        let bytes = (inputs + next).reduce(UInt64(0)) { $0 &+ $1.fileSizeBytes }
        guard bytes <= maxExpandedCompactionBytes else { return nil }
        let grown = Compaction(level: level, outputLevel: compaction.outputLevel, inputs: inputs,
                               outputLevelInputs: next, version: version, reason: compaction.reason,
                               score: compaction.score)
        return state.conflicts(grown) ? nil : grown
    }

    /// Bytes of the next level a table's compaction would rewrite per byte
    /// of the table itself, in 1/1024ths (RocksDB's kMinOverlappingRatio):
    /// the table with the lowest ratio moves the most data down a level
    /// for the least written. Round robin instead rewrites whatever lies
    /// under the next table in key order (measured: docs/ARCHITECTURE.md
    /// §Compaction, "Picking").
    static func overlapRatio(_ file: FileMetaData, _ next: [FileMetaData]) -> UInt64 {
        let overlap = next.reduce(UInt64(0)) { $0 &+ $1.fileSizeBytes }
        return saturatingMultiply(overlap, 1024) / max(file.fileSizeBytes, 1)
    }

    // MARK: - Helpers

    static func userKeyRange(_ files: [FileMetaData]) -> (smallest: [UInt8], largest: [UInt8]) {
        var smallest = files[0].smallestUserKey, largest = files[0].largestUserKey
        for f in files.dropFirst() {
            if compareBytes(f.smallestUserKey, smallest) < 0 { smallest = f.smallestUserKey }
            if compareBytes(f.largestUserKey, largest) > 0 { largest = f.largestUserKey }
        }
        return (smallest, largest)
    }

    static func saturatingMultiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? UInt64.max : product
    }
}

/// `InternalKey.compare` for stored keys.
func compareInternalKeys(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in InternalKey.compare(pa, pb) } }
}
