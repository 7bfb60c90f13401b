import Glibc
import RingIO

/// Runs one `Compaction`: merges its input tables, drops what no reader can
/// see (`CompactionEntryFilter`), writes the rest to new tables of the
/// output level, and installs the result with one `VersionEdit` (inputs
/// deleted, outputs added, compact pointer advanced). A trivial move is the
/// edit alone.
///
/// Runs without `DBImpl.mu`. Output numbers sit in `pendingOutputs` while
/// written, so the obsolete-file sweep leaves them alone. On any failure
/// before the edit is logged every output is removed: nothing partial is
/// ever installed.
struct CompactionJob {
    /// What an installed compaction did.
    struct Outcome {
        var outputs: [FileMetaData] = []
        var bytesRead: UInt64 = 0
        var bytesWritten: UInt64 = 0
        var entriesRead: UInt64 = 0
        var entriesDropped: UInt64 = 0
        /// Values the compaction filter removed or replaced.
        var entriesFiltered: UInt64 = 0
        /// Values of a TTL keyspace found expired (written as deletions).
        var entriesExpired: UInt64 = 0
        var trivialMove = false
    }

    let db: DBImpl
    /// The keyspace whose tables are merged, and its table options (block
    /// size, compression, bloom bits).
    let keyspace: UInt32
    let tableOptions: Options
    let compaction: Compaction
    /// See `CompactionEntryFilter.smallestSnapshot`; read under `mu` when
    /// the compaction was registered.
    let smallestSnapshot: SequenceNumber
    /// Every live snapshot sequence, read under `mu` with
    /// `smallestSnapshot`: merge folding never crosses one (`MergeFolder`).
    var liveSnapshots: [SequenceNumber] = []

    /// How often (in entries) the merge loop checks for shutdown.
    static let shutdownCheckInterval: UInt64 = 1024

    /// Returns nil when the result was discarded because a snapshot older
    /// than `smallestSnapshot` appeared meanwhile (see `snapshotRaced`);
    /// the caller picks again.
    func run() throws(DBError) -> Outcome? {
        let picker = CompactionPicker(options: db.options)
        if compaction.isTrivialMove(maxGrandparentOverlapBytes: picker.maxGrandparentOverlapBytes) {
            return try moveTrivially()
        }
        return try merge(maxGrandparentOverlapBytes: picker.maxGrandparentOverlapBytes)
    }

    // MARK: - Trivial move

    private func moveTrivially() throws(DBError) -> Outcome {
        let file = compaction.inputs[0]
        var edit = VersionEdit()
        edit.keyspaceId = keyspace
        edit.deleteFile(level: compaction.level, number: file.number)
        edit.addFile(level: compaction.outputLevel, file)
        edit.setCompactPointer(level: compaction.level, internalKey: compaction.nextCompactPointer)
        try db.versions.logAndApply(edit)
        return Outcome(trivialMove: true)
    }

    // MARK: - Merge

    private func merge(maxGrandparentOverlapBytes: UInt64) throws(DBError) -> Outcome? {
        var outcome = Outcome(bytesRead: compaction.inputBytes)
        var allocated: [UInt64] = []
        var current: TableOutput?
        var finished: [FileMetaData] = []
        // Output bytes the rate limiter has been charged for.
        var charged: UInt64 = 0
        do throws(DBError) {
            let merged = MergingIterator(try inputIterators())
            try merged.seekToFirst()
            var ranges = CompactionRangeTombstones(inputs: try inputRangeTombstones(),
                                                   smallestSnapshot: smallestSnapshot,
                                                   deeperLevels: compaction.deeperLevels)
            outcome.entriesDropped += UInt64(ranges.droppedCount)
            let newOutput = { () throws(DBError) -> TableOutput in
                let number = db.versions.newFileNumber()
                db.mu.withLock { _ = db.pendingOutputs.insert(number) }
                allocated.append(number)
                ranges.startOutput()
                return try TableOutput(number: number, dbPath: db.path, backend: db.backend, options: tableOptions)
            }
            var filter = CompactionEntryFilter(smallestSnapshot: smallestSnapshot,
                                               deeperLevels: compaction.deeperLevels)
            let targetBytes = max(db.options.targetFileSizeBytes, 1)
            var grandparents = GrandparentOverlap(grandparents: compaction.grandparents,
                                                  limitBytes: maxGrandparentOverlapBytes, targetBytes: targetBytes)
            // True once the current user key has an entry in the output.
            var userKeyStarted = false
            // Folds the operands of keys whose newest entry is one.
            let folder = try mergeFolder()
            var foldDeeper = DeeperLevelCursor(levels: compaction.deeperLevels)
            let userFilter = db.options.compactionFilter
            // Newer than every live snapshot: what the user filter may change.
            let newestSnapshot = liveSnapshots.last ?? 0
            // A TTL keyspace: expired values become deletions (TTL/TTLCompaction.swift).
            let expiry = tableOptions.ttlExpiryNow(keyspace: "id \(keyspace)")
            // Decides one entry (the filters), cuts outputs and writes it.
            // `filtered`: the user filter already decided it.
            func process(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                         filtered: Bool = false) throws(DBError) {
                let (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(key))
                let userKey = InternalKey.userKey(key)
                if !filtered, let expiry, type == ValueType.value.rawValue, try expiry.isExpired(value) {
                    outcome.entriesExpired += 1
                    let deletion = InternalKey.make(Array(userKey), sequence, .deletion)
                    return try deletion.withBytes { (k) throws(DBError) in
                        try process(k, UnsafeRawBufferPointer(start: nil, count: 0), filtered: true)
                    }
                }
                if !filtered, let userFilter, type == ValueType.value.rawValue, sequence > newestSnapshot,
                   filter.isNewUserKey(userKey) {
                    switch userFilter.filter(key: Array(userKey), value: TTLExpiry.userBytes(value, expiry)) {
                    case .keep:
                        break
                    case .remove:
                        outcome.entriesFiltered += 1
                        let deletion = InternalKey.make(Array(userKey), sequence, .deletion)
                        return try deletion.withBytes { (k) throws(DBError) in
                            try process(k, UnsafeRawBufferPointer(start: nil, count: 0), filtered: true)
                        }
                    case .replace(let replacement):
                        outcome.entriesFiltered += 1
                        let replacement = TTLExpiry.restamped(replacement, like: value, expiry)
                        return try replacement.withBytes { (v) throws(DBError) in
                            try process(key, v, filtered: true)
                        }
                    }
                }
                let decision = filter.consider(userKey: userKey, sequence: sequence, type: type)
                if filter.startedNewUserKey { userKeyStarted = false }
                if decision == .drop || ranges.hides(userKey, sequence: sequence) {
                    outcome.entriesDropped += 1
                    return
                }
                if !userKeyStarted {
                    // Outputs are cut only between user keys: at L1+ one key
                    // must live in one table; and never inside a range
                    // tombstone the output holds (CompactionRangeTombstones).
                    if let output = current { ranges.attach(startingBefore: userKey, inclusive: false, to: output) }
                    let stop = grandparents.shouldStopBefore(userKey: userKey,
                                                             outputBytes: current?.estimatedFileSizeBytes ?? 0)
                    if let output = current, stop || output.estimatedFileSizeBytes >= targetBytes,
                       ranges.canCut(before: userKey) {
                        current = nil
                        finished.append(try finish(output))
                        grandparents.outputEnded()
                    }
                    userKeyStarted = true
                }
                if current == nil { current = try newOutput() }
                if let output = current { ranges.attach(startingBefore: userKey, inclusive: true, to: output) }
                try current?.add(key, value)
            }
            while merged.isValid {
                outcome.entriesRead += 1
                if outcome.entriesRead % Self.shutdownCheckInterval == 0 {
                    if db.isShuttingDown { throw DBError.closed }
                    if let limiter = db.compactionLimiter {
                        let written = finished.reduce(current?.estimatedFileSizeBytes ?? 0) { $0 + $1.fileSizeBytes }
                        if written > charged {
                            limiter.pace(bytes: written - charged, abandon: { db.isShuttingDown })
                            charged = written
                        }
                    }
                }
                let key = merged.key
                guard key.count >= InternalKey.trailerSize else {
                    throw DBError.corruption(path: "compaction of \(compaction.description)", offset: 0,
                                             reason: "internal key of \(key.count) bytes, shorter than its trailer")
                }
                let type = InternalKey.unpackTrailer(InternalKey.trailer(key)).type
                if type == ValueType.merge.rawValue, let folder, filter.isNewUserKey(InternalKey.userKey(key)) {
                    let (userKey, entries) = try MergeFolder.collect(merged)
                    outcome.entriesRead += UInt64(entries.count - 1)
                    let bottom = !userKey.withUnsafeBytes { foldDeeper.mayContain(userKey: $0) }
                    let folded = folder.fold(userKey, entries, bottom: bottom)
                    outcome.entriesDropped += UInt64(entries.count - folded.count)
                    for entry in folded {
                        let ikey = InternalKey.make(userKey, entry.sequence, ValueType(rawValue: entry.type) ?? .merge)
                        try ikey.withBytes { (k) throws(DBError) in
                            try entry.value.withBytes { (v) throws(DBError) in try process(k, v) }
                        }
                    }
                    continue
                }
                try process(key, merged.value)
                try merged.next()
            }
            if ranges.hasPending {
                if current == nil { current = try newOutput() }
                if let output = current { ranges.attach(startingBefore: nil, inclusive: true, to: output) }
            }
            if let output = current {
                current = nil
                finished.append(try finish(output))
            }
            if !finished.isEmpty {
                try ioCall(db.path) { () throws(IOError) in try db.backend.syncDirectory(db.path) }
            }
            if db.isShuttingDown { throw DBError.closed }
        } catch {
            current?.abandon()
            discard(finished, allocated)
            throw error
        }
        if snapshotRaced() {
            discard(finished, allocated)
            return nil
        }
        var edit = VersionEdit()
        edit.keyspaceId = keyspace
        for f in compaction.inputs { edit.deleteFile(level: compaction.level, number: f.number) }
        for f in compaction.outputLevelInputs { edit.deleteFile(level: compaction.outputLevel, number: f.number) }
        for f in finished { edit.addFile(level: compaction.outputLevel, f) }
        edit.setCompactPointer(level: compaction.level, internalKey: compaction.nextCompactPointer)
        do throws(DBError) {
            try db.versions.logAndApply(edit)
        } catch DBError.io(let e) {
            // The MANIFEST write or fsync failed: the edit may be on disk
            // after all, so its tables must stay. They remain pending (never
            // swept) until the next open sorts it out.
            throw DBError.io(e)
        } catch {
            discard(finished, allocated)
            throw error
        }
        db.mu.withLock { db.pendingOutputs.subtract(allocated) }
        outcome.outputs = finished
        outcome.bytesWritten = finished.reduce(0) { $0 + $1.fileSizeBytes }
        return outcome
    }

    /// The merge's sources, read through the table cache's readers
    /// (compaction reads do not go through a block cache): one iterator per
    /// L0 input (L0 tables overlap), and one `LevelIterator` per sorted
    /// level, which opens one table at a time. Each open table iterator
    /// holds a 1 MiB read-ahead window (plus a 1 MiB prefetch when the
    /// table is O_DIRECT), so an L1→L2 compaction over 11 buffered tables
    /// holds 2 MiB of buffers (22 with an iterator and a prefetch per
    /// table, as before; docs/ARCHITECTURE.md §Memory).
    func inputIterators() throws(DBError) -> [any InternalIterator] {
        let tableCache = db.tableCache
        let open: (FileMetaData) throws(DBError) -> TableIterator = {
            try tableCache.reader(for: $0.number).makeIterator(readAhead: .compaction)
        }
        var sources: [any InternalIterator] = []
        if compaction.level == 0 {
            sources += try compaction.inputs.map(open)
        } else {
            sources.append(LevelIterator(files: compaction.inputs.sorted(by: CompactionJob.keyOrder), open: open))
        }
        if !compaction.outputLevelInputs.isEmpty {
            sources.append(LevelIterator(files: compaction.outputLevelInputs.sorted(by: CompactionJob.keyOrder),
                                         open: open))
        }
        return sources
    }

    /// Sorted-level tables in key order (they do not overlap).
    private static func keyOrder(_ a: FileMetaData, _ b: FileMetaData) -> Bool {
        a.smallest.withUnsafeBytes { x in b.smallest.withUnsafeBytes { y in InternalKey.compare(x, y) < 0 } }
    }

    /// The folder of this compaction's merge operands (nil: no merge
    /// operator, operands are copied as they are).
    private func mergeFolder() throws(DBError) -> MergeFolder? {
        guard let mergeOperator = db.options.mergeOperator else { return nil }
        return MergeFolder(mergeOperator: mergeOperator, snapshots: liveSnapshots,
                           tombstones: try inputRangeTombstones())
    }

    /// The range tombstones of every input table.
    private func inputRangeTombstones() throws(DBError) -> [RangeTombstone] {
        var tombstones: [RangeTombstone] = []
        for file in compaction.allInputs { tombstones += try db.tableCache.reader(for: file.number).rangeTombstoneList }
        return tombstones
    }

    /// Removes written outputs and releases every allocated number.
    /// Finishes `output` and counts its bytes as written to the output
    /// level (`DBStats.levelBytesWritten`), discarded or not: they reached
    /// the file system either way.
    private func finish(_ output: TableOutput) throws(DBError) -> FileMetaData {
        let table = try output.finish()
        db.stats.levelBytesWritten[compaction.outputLevel].add(table.fileSizeBytes)
        return table
    }

    private func discard(_ finished: [FileMetaData], _ allocated: [UInt64]) {
        for f in finished { try? db.backend.removeFile(FileNames.table(db.path, f.number)) }
        db.mu.withLock { db.pendingOutputs.subtract(allocated) }
    }

    /// `DB.snapshot()` reads the last sequence under `mu` and registers it
    /// just after; a compaction that read the registry in between would
    /// have dropped entries that snapshot needs. Any registered snapshot
    /// older than `smallestSnapshot` can only be such a late arrival.
    private func snapshotRaced() -> Bool {
        guard let oldest = db.snapshots.oldest else { return false }
        return oldest < smallestSnapshot
    }
}
