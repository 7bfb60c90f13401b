/// Running compactions: automatic ones on the background threads
/// (`DBImpl.backgroundLoop`) and manual ones for `DB.compactRange` on the
/// caller's thread (docs/ARCHITECTURE.md §Compaction). Every keyspace has
/// its own levels; the picker runs per keyspace, unchanged, and the
/// scheduler takes the keyspace whose pick scores highest.
extension DBImpl {
    /// A compaction and the keyspace whose tables it merges.
    struct PickedCompaction {
        let keyspace: KeyspaceData
        let compaction: Compaction
    }

    // MARK: - Automatic

    /// The next automatic compaction, or nil when none is needed, a manual
    /// compaction runs or waits, the failure back-off has not expired, or
    /// every candidate conflicts with a running compaction. Each live
    /// keyspace is asked (`CompactionPicker` on its version, with its own
    /// running compactions); the highest score wins, ties going round
    /// robin. Caller holds `mu`.
    func pickCompactionLocked() -> PickedCompaction? {
        mu.assertHeld()
        if closing || compaction.manualRunning || compaction.manualWaiting > 0 { return nil }
        if compaction.retryAtNanos > MonotonicClock.nanos() { return nil }
        let loading = loadPhaseEndLocked() != nil
        let count = keyspaceList.count
        var best: PickedCompaction?
        for step in 0..<count {
            let keyspace = keyspaceList[(compactionPickStart + step) % count]
            guard !keyspace.dropping, let picked = pickCompactionLocked(keyspace, loading: loading) else { continue }
            if best.map({ picked.score > $0.compaction.score }) ?? true {
                best = PickedCompaction(keyspace: keyspace, compaction: picked)
            }
        }
        if let best {
            compactionPickStart = (compactionPickStart + 1) % max(count, 1)
            if best.compaction.reason == .seeks { best.keyspace.seekCandidate = nil }
        }
        return best
    }

    /// `keyspace`'s next automatic compaction, as the picker chooses it
    /// (`loading`: as `LoadPhase` says now).
    private func pickCompactionLocked(_ keyspace: KeyspaceData, loading: Bool) -> Compaction? {
        mu.assertHeld()
        // Workers wake on every state change (`wakeAllLocked`) and timeout
        // (a back-off or the load phase ending), so a pick that found
        // nothing is not repeated for the same state.
        guard let version = versions.current(keyspace: keyspace.id) else { return nil }
        if keyspace.fruitlessVersionID == version.id && keyspace.fruitlessGeneration == compaction.generation
            && keyspace.fruitlessWhileLoading == loading {
            return nil
        }
        let pointers = versions.compactPointers(keyspace: keyspace.id)
            ?? [[UInt8]?](repeating: nil, count: Version.numLevels)
        let picker = CompactionPicker(options: options, loading: loading)
        let picked = picker.pick(version: version, compactPointers: pointers,
                                 state: compaction.restricted(to: keyspace.id), seekCandidate: keyspace.seekCandidate)
        if let candidate = keyspace.seekCandidate,
           !version.files[candidate.level].contains(where: { $0.number == candidate.file.number }) {
            // Compacted away meanwhile: the next table whose seeks run out
            // may take its place.
            keyspace.seekCandidate = nil
        }
        if picked == nil {
            keyspace.fruitlessVersionID = version.id
            keyspace.fruitlessGeneration = compaction.generation
            keyspace.fruitlessWhileLoading = loading
        }
        return picked
    }

    /// What a read that searched a table in vain charges it (`chargeSeek`).
    enum SeekCharge {
        /// A get past the table's filter: one block read. Counts 1, and the
        /// allowance is widened once by the tables under it one level down,
        /// which its compaction would rewrite too (for an L0 table over the
        /// whole key range, all of L1).
        case get
        /// An iterator's seek over an L0 table: a block read and decode
        /// whatever the filter says, and one more source merged at every
        /// step of the scan. Counts 16, not widened — LevelDB's cadence of
        /// one per 16 KiB of the table, which YCSB E's 100k scans repay.
        case iteratorSeek

        var weight: Int { self == .get ? 1 : 16 }
    }

    /// One read searched `file` (of `level` of `keyspace`) in vain before
    /// finding its key elsewhere: counts it against the table's allowed
    /// seeks, and when they run out makes the table the keyspace's seek
    /// compaction candidate (one at a time, as LevelDB) and wakes the
    /// compaction threads — for a get, the first time they run out, after
    /// widening them by the next level's overlap instead (`SeekCharge`).
    /// Called without `mu` from the read paths; takes it only then, at most
    /// twice per table.
    func chargeSeek(_ file: FileMetaData, level: Int, keyspace: KeyspaceData, _ charge: SeekCharge = .get) {
        let weight = charge.weight
        let left = file.allowedSeeks.subtract(weight, ordering: .relaxed).newValue
        guard left <= 0 && left + weight > 0 else { return }
        mu.withLock {
            guard keyspace.seekCandidate == nil, !closing, !keyspace.dropped else { return }
            if charge == .get, !file.seekAllowanceWidened.exchange(true, ordering: .relaxed),
               level + 1 < Version.numLevels, let version = versions.current(keyspace: keyspace.id) {
                let below = version.overlappingFiles(level: level + 1, smallestUserKey: file.smallestUserKey,
                                                     largestUserKey: file.largestUserKey)
                let more = below.reduce(UInt64(0)) { $0 + $1.fileSizeBytes } / FileMetaData.bytesPerAllowedSeek
                // Charges that raced past zero meanwhile are counted: only
                // an allowance left above zero will cross it again.
                if more > 0, file.allowedSeeks.add(Int(min(more, 1 << 30)), ordering: .relaxed).newValue > 0 {
                    return
                }
            }
            keyspace.seekCandidate = (level, file)
            keyspace.fruitlessVersionID = nil
            wakeAllLocked()
        }
    }

    /// When the database stops loading (`LoadPhase`), or nil when it is
    /// not loading now.
    func loadPhaseEndLocked() -> UInt64? {
        mu.assertHeld()
        return compaction.loadPhase.endsAtNanos(nowNanos: MonotonicClock.nanos(), writes: stats.writes.current,
                                                reads: stats.readsReachingTables)
    }

    /// Nanoseconds until the failure back-off expires, or nil when none runs.
    func compactionRetryDelayNanosLocked() -> UInt64? {
        mu.assertHeld()
        let now = MonotonicClock.nanos()
        return compaction.retryAtNanos > now ? compaction.retryAtNanos - now : nil
    }

    /// Runs `picked` without `mu` and records the result. A failure is
    /// counted and delays the next automatic pick (100 ms, doubling to
    /// 10 s); the inputs stay in place and are picked again. Caller holds
    /// `mu`; it is held again on return.
    func runCompactionLocked(_ picked: PickedCompaction) {
        mu.assertHeld()
        let (result, elapsed) = runRegisteredLocked(picked)
        var installed = false
        switch result {
        case .success(let outcome?):
            record(outcome, of: picked, nanos: elapsed)
            compaction.recordSuccess()
            installed = true
        case .success(nil):
            break  // discarded (snapshot race); pick again
        case .failure(let error):
            if case .closed = error { break }
            if case .keyspaceDropped = error { break }  // its outputs were discarded
            stats.compactionFailures.add(1)
            compaction.recordFailure(error, nowNanos: MonotonicClock.nanos())
            let retry = compactionRetryDelayNanosLocked() ?? 0
            events.compactionFailed(error, retryInMillis: retry / 1_000_000)
        }
        wakeAllLocked()  // writers stalled on L0, compactRange waiting, other workers
        if installed {
            mu.unlock()
            deleteObsoleteFiles()
            mu.lock()
        }
    }

    /// Registers `picked` as running, runs its job without `mu` against the
    /// oldest snapshot, and unregisters it; returns the job's result and
    /// how long it took. Caller holds `mu`; it is held again on return.
    private func runRegisteredLocked(_ picked: PickedCompaction) -> (Result<CompactionJob.Outcome?, DBError>, UInt64) {
        mu.assertHeld()
        let id = compaction.register(picked.compaction, keyspace: picked.keyspace.id)
        let smallestSnapshot = snapshots.oldest ?? lastSequence
        let liveSnapshots = snapshots.sequences
        let tableOptions = picked.keyspace.options
        mu.unlock()
        let started = MonotonicClock.nanos()
        let result = Result { () throws(DBError) in
            try BackgroundThread.runAsEngineWork { () throws(DBError) in
                try CompactionJob(db: self, keyspace: picked.keyspace.id, tableOptions: tableOptions,
                                  compaction: picked.compaction, smallestSnapshot: smallestSnapshot,
                                  liveSnapshots: liveSnapshots).run()
            }
        }
        let elapsed = MonotonicClock.nanos() - started
        mu.lock()
        compaction.unregister(id)
        return (result, elapsed)
    }

    private func record(_ outcome: CompactionJob.Outcome, of picked: PickedCompaction, nanos: UInt64) {
        let compaction = picked.compaction
        picked.keyspace.compactions.add(1)
        picked.keyspace.compactionBytesWritten.add(outcome.bytesWritten)
        events.compacted(compaction, inputs: compaction.inputs.count + compaction.outputLevelInputs.count,
                         outputs: outcome.outputs.count, bytesRead: outcome.bytesRead,
                         bytesWritten: outcome.bytesWritten, entriesDropped: outcome.entriesDropped,
                         trivialMove: outcome.trivialMove, durationNanos: nanos)
        stats.compactions.add(1)
        if outcome.trivialMove { stats.trivialMoves.add(1) }
        stats.compactionNanos.add(nanos)
        stats.compactionBytesRead.add(outcome.bytesRead)
        stats.compactionBytesWritten.add(outcome.bytesWritten)
        stats.compactionEntriesDropped.add(outcome.entriesDropped)
    }

    // MARK: - Manual (DB.compactRange)

    /// Compacts the whole key space into one level, as LevelDB's
    /// CompactRange does: each level in turn, from L0 down, is merged with
    /// the whole next level, ending in the bottom level. If that never
    /// wrote the bottom level (the levels above it were empty), the bottom
    /// level is rewritten in place, so afterwards it holds one entry per
    /// live key and no tombstone, except what live snapshots still need.
    ///
    /// The bottom level is the deepest non-empty level (L1 at least), or
    /// deeper when the data would exceed that level's target: otherwise
    /// automatic compaction would start pushing the freshly compacted data
    /// down right away.
    ///
    /// Waits for running automatic compactions, and keeps new ones from
    /// starting until it is done. The memtable must have been flushed.
    /// Throws `.keyspaceDropped` when `keyspace` is dropped meanwhile.
    func compactAll(_ keyspace: KeyspaceData) throws(DBError) {
        try asManualCompaction { () throws(DBError) in try compactAllSteps(keyspace) }
    }

    /// Runs `body` as the one manual compaction: waits for running
    /// automatic (and manual) compactions, and keeps new automatic ones
    /// from starting until `body` returns.
    func asManualCompaction(_ body: () throws(DBError) -> Void) throws(DBError) {
        mu.lock()
        compaction.manualWaiting += 1
        while compaction.manualRunning || !compaction.isIdle {
            if closing {
                compaction.manualWaiting -= 1
                wakeAllLocked()
                mu.unlock()
                throw DBError.closed
            }
            mu.wait()
        }
        compaction.manualWaiting -= 1
        compaction.manualRunning = true
        mu.unlock()
        defer {
            mu.lock()
            compaction.manualRunning = false
            wakeAllLocked()
            mu.unlock()
        }
        try body()
    }

    /// The steps of `compactAll`, inside `asManualCompaction`.
    private func compactAllSteps(_ keyspace: KeyspaceData) throws(DBError) {
        // No Version is held across the steps: it would keep the tables
        // each step replaces from being deleted.
        guard let bottom = try manualBottomLevel(keyspace) else { return }
        var wroteBottom = false
        for level in 0..<bottom {
            let ran = try runManual(keyspace) { version in
                guard !version.files[level].isEmpty else { return nil }
                return Compaction(level: level, outputLevel: level + 1, inputs: version.files[level],
                                  outputLevelInputs: version.files[level + 1], version: version,
                                  reason: .manual, score: 0)
            }
            if ran && level + 1 == bottom { wroteBottom = true }
        }
        if !wroteBottom {
            try runManual(keyspace) { version in
                guard !version.files[bottom].isEmpty else { return nil }
                return Compaction(level: bottom, outputLevel: bottom, inputs: version.files[bottom],
                                  outputLevelInputs: [], version: version, reason: .manual, score: 0)
            }
        }
    }

    /// `manualBottomLevel` of `keyspace`'s current version, which is let
    /// go on return (`.keyspaceDropped` once it is dropped).
    private func manualBottomLevel(_ keyspace: KeyspaceData) throws(DBError) -> Int? {
        guard let start = versions.current(keyspace: keyspace.id) else {
            throw DBError.keyspaceDropped(name: keyspace.name)
        }
        return manualBottomLevel(start)
    }

    /// Where `compactAll` puts the data of `version`; nil when it is empty.
    func manualBottomLevel(_ version: Version) -> Int? {
        guard let deepest = (0..<Version.numLevels).last(where: { !version.files[$0].isEmpty }) else { return nil }
        let totalBytes = (0..<Version.numLevels).reduce(UInt64(0)) { $0 + version.levelBytes($1) }
        let picker = CompactionPicker(options: options)
        var bottom = max(1, deepest)
        while bottom < Version.numLevels - 1 && totalBytes > picker.maxBytes(forLevel: bottom) { bottom += 1 }
        return bottom
    }

    /// Runs the compaction `make` builds from the current version (nil:
    /// nothing to do), again from a fresh version if a snapshot race
    /// discarded the result. Failures are counted and thrown. Returns
    /// whether a compaction was installed.
    @discardableResult
    func runManual(_ keyspace: KeyspaceData, _ make: (Version) -> Compaction?) throws(DBError) -> Bool {
        while true {
            if isShuttingDown { throw DBError.closed }
            mu.lock()
            // The version is let go right after `make`: held across the
            // sweep below it would keep the replaced tables on disk.
            let made: Compaction?
            if let version = versions.current(keyspace: keyspace.id) {
                made = make(version)
            } else {
                mu.unlock()
                throw DBError.keyspaceDropped(name: keyspace.name)
            }
            guard let made else {
                mu.unlock()
                return false
            }
            let picked = PickedCompaction(keyspace: keyspace, compaction: made)
            let (result, elapsed) = runRegisteredLocked(picked)
            mu.unlock()
            switch result {
            case .success(let outcome?):
                record(outcome, of: picked, nanos: elapsed)
                // Each step may have brought L0 below the stop trigger:
                // writers stalled on it go on now, not when the whole
                // manual compaction is done.
                mu.withLock { wakeAllLocked() }
                deleteObsoleteFiles()
                return true
            case .success(nil):
                continue
            case .failure(let error):
                switch error {
                case .closed, .keyspaceDropped: break
                default: stats.compactionFailures.add(1)
                }
                throw error
            }
        }
    }
}

extension DBImpl {
    /// `compactAll` of the default keyspace.
    func compactAll() throws(DBError) { try compactAll(defaultKeyspace) }
}
