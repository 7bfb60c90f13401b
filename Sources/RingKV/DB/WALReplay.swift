import RingIO

/// Replays the live WAL files into memtables at open, one per keyspace,
/// writing each memtable that fills (and the last ones) to an L0 table of
/// its keyspace. Reads the logs record by record (`LogReader`), so memory
/// stays at one window plus the keyspaces' memtables.
///
/// Which operations are replayed (docs/KEYSPACES.md §Recovery): those of a
/// keyspace from logs at or above its own log number (below it, its
/// tables hold them); an operation for a dropped keyspace is skipped; one
/// for an id above the MANIFEST's largest keyspace id is corruption.
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
    /// The live keyspaces: their options and log numbers.
    var keyspaces: [UInt32: (options: Options, logNumber: UInt64)]
    /// The largest keyspace id the MANIFEST records.
    var maxKeyspaceId: UInt32

    struct Outcome {
        /// The L0 tables written, oldest first, with their keyspaces.
        var tables: [(keyspace: UInt32, file: FileMetaData)] = []
        var lastSequence: SequenceNumber = 0
        var logs: [RecoveryReport.ReplayedLog] = []
        /// Stretches not replayed, with the log each came from.
        var drops: [(source: String, tail: DroppedTail)] = []
        /// Read-only open: everything replayed, per keyspace, not written
        /// to a table.
        var memtables: [UInt32: MemTable] = [:]
    }

    /// Replays `logNumbers` (ascending). Throws `DBError.corruption` for
    /// damage that is not a torn tail when `paranoidChecks` is set, and for
    /// a valid record whose batch does not decode or does not follow the
    /// sequence before it. Tables written before a throw are left to the
    /// caller (`outcome` is updated as they are written).
    func run(_ logNumbers: [UInt64], into outcome: inout Outcome) throws {
        var memtables: [UInt32: MemTable] = [:]
        var replayedSequence: SequenceNumber = 0
        for (index, number) in logNumbers.enumerated() {
            let path = FileNames.log(dbPath, number)
            let reader = try LogReader(path: path, backend: backend)
            var batches: UInt64 = 0
            let ending = try reader.read(evidence: .syncPoints, strict: options.paranoidChecks) { record in
                if record.isSyncPoint { return }
                var touched: [UInt32] = []
                replayedSequence = try MemTableInserter.applyRecovered(
                    record.payload, path: path, after: replayedSequence, maxKeyspaceId: maxKeyspaceId
                ) { id in
                    // Dropped (or above the largest id: refused before
                    // this is asked), or already in the keyspace's tables.
                    guard let keyspace = keyspaces[id], number >= keyspace.logNumber else { return nil }
                    if let memtable = memtables[id] {
                        if !touched.contains(id) { touched.append(id) }
                        return memtable
                    }
                    let memtable = keyspace.options.makeMemTable()
                    memtables[id] = memtable
                    touched.append(id)
                    return memtable
                }
                outcome.lastSequence = max(outcome.lastSequence, replayedSequence)
                batches += 1
                guard allocate != nil else { return }
                for id in touched {
                    guard let memtable = memtables[id], let keyspace = keyspaces[id],
                          memtable.approximateMemoryUsageBytes >= keyspace.options.memtableSizeBytes else { continue }
                    try flush(memtable, keyspace: id, into: &outcome)
                    memtables[id] = nil
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
            outcome.memtables = memtables
        } else {
            for id in memtables.keys.sorted() {
                if let memtable = memtables[id] { try flush(memtable, keyspace: id, into: &outcome) }
            }
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

    private func flush(_ memtable: MemTable, keyspace: UInt32, into outcome: inout Outcome) throws {
        guard memtable.entryCount > 0, let allocate, let tableOptions = keyspaces[keyspace]?.options else { return }
        let tombstones = memtable.rangeTombstones.all
        // No snapshot exists during recovery: one stripe.
        let folder = tableOptions.mergeOperator.map {
            MergeFolder(mergeOperator: $0, snapshots: [], tombstones: tombstones)
        }
        if let meta = try TableFiles.build(from: memtable.makeIterator(), rangeTombstones: tombstones,
                                           number: allocate.allocate(), dbPath: dbPath, backend: backend,
                                           options: tableOptions, snapshots: [], folder: folder) {
            outcome.tables.append((keyspace, meta))
        }
    }
}
