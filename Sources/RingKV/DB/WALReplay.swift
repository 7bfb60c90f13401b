import RingIO

/// Replays the live WAL files into memtables at open, writing each memtable
/// that fills (and the last one) to an L0 table. Reads the logs record by
/// record (`LogReader`), so memory stays at one window plus one memtable.
///
/// Which damage is a torn tail (docs/FORMAT.md §Torn tail): inside one log,
/// damage that no later sync-point record proves synced. Across logs, the
/// engine fdatasyncs a log before it writes the first byte to the next
/// (`makeRoomForWrite`), so damage in a log is corruption whenever a later
/// log holds any valid record.
struct WALReplay {
    var options: Options
    var dbPath: String
    var backend: any IOBackend
    /// Hands out table numbers; nil for a read-only open, which keeps
    /// everything in one memtable and writes no table.
    var allocate: DatabaseRecovery.FileNumbers?

    struct Outcome {
        /// The L0 tables written, oldest first.
        var tables: [FileMetaData] = []
        var lastSequence: SequenceNumber = 0
        var logs: [RecoveryReport.ReplayedLog] = []
        /// Stretches not replayed, with the log each came from.
        var drops: [(source: String, tail: DroppedTail)] = []
        /// Read-only open: everything replayed, not written to a table.
        var memtable: MemTable?
    }

    /// Replays `logNumbers` (ascending). Throws `DBError.corruption` for
    /// damage that is not a torn tail when `paranoidChecks` is set, and for
    /// a valid record whose batch does not decode or does not follow the
    /// sequence before it. Tables written before a throw are left to the
    /// caller (`outcome` is updated as they are written).
    func run(_ logNumbers: [UInt64], into outcome: inout Outcome) throws {
        var memtable = options.makeMemTable()
        var replayedSequence: SequenceNumber = 0
        for (index, number) in logNumbers.enumerated() {
            let path = FileNames.log(dbPath, number)
            let reader = try LogReader(path: path, backend: backend)
            var batches: UInt64 = 0
            let ending = try reader.read(evidence: .syncPoints, strict: options.paranoidChecks) { record in
                if record.isSyncPoint { return }
                replayedSequence = try MemTableInserter.applyRecovered(record.payload, to: memtable, path: path,
                                                                       after: replayedSequence)
                outcome.lastSequence = max(outcome.lastSequence, replayedSequence)
                batches += 1
                if allocate != nil && memtable.approximateMemoryUsageBytes >= options.memtableSizeBytes {
                    try flush(memtable, into: &outcome)
                    memtable = options.makeMemTable()
                }
            }
            outcome.logs.append(.init(path: path, batches: batches, validBytes: ending.validBytes))
            guard var dropped = ending.dropped else { continue }
            if !dropped.isCorruption, let later = try laterLogWithRecords(logNumbers[(index + 1)...]) {
                dropped.isCorruption = true
                dropped.reason += "; \(FileSystem.baseName(later)) holds records, and a log is synced in full "
                    + "before the next one is written"
                if options.paranoidChecks {
                    throw DBError.corruption(path: path, offset: dropped.offset, reason: dropped.reason)
                }
            }
            if dropped.byteCount > 0 { outcome.drops.append((path, dropped)) }
        }
        if allocate == nil {
            outcome.memtable = memtable
        } else {
            try flush(memtable, into: &outcome)
        }
    }

    /// The first of `numbers` whose log holds a valid record (only asked
    /// when a log did not end cleanly).
    private func laterLogWithRecords(_ numbers: ArraySlice<UInt64>) throws -> String? {
        for number in numbers {
            let path = FileNames.log(dbPath, number)
            if try LogReader(path: path, backend: backend).containsValidRecord() { return path }
        }
        return nil
    }

    private func flush(_ memtable: MemTable, into outcome: inout Outcome) throws {
        guard memtable.entryCount > 0, let allocate else { return }
        if let meta = try TableFiles.build(from: memtable.makeIterator(), rangeTombstones: memtable.rangeTombstones.all,
                                           number: allocate.allocate(), dbPath: dbPath, backend: backend,
                                           options: options) {
            outcome.tables.append(meta)
        }
    }
}
