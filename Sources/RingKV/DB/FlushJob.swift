import RingIO

/// Writes an immutable memtable of one keyspace to a new L0 table and
/// installs it, with the keyspace's new log number (the WAL that makes the
/// memtable's logs obsolete for it), in one manifest edit.
enum FlushJob {
    /// What one flush needs, captured under `mu`.
    struct Request {
        var keyspace: KeyspaceData
        var memtable: MemTable
        /// The WAL created when the memtable was switched.
        var logNumber: UInt64
        /// The keyspace's options (block size, compression, bloom bits).
        var options: Options
        /// The WAL being written now, and the keyspaces that hold nothing
        /// unflushed: the edit moves their log numbers up to it.
        var currentLogNumber: UInt64
        var idleKeyspaces: [UInt32]
        /// Live snapshot sequences, read under `mu`: merge folding never
        /// crosses one (`MergeFolder`). A snapshot taken later sees every
        /// entry of the memtable.
        var snapshots: [SequenceNumber] = []
    }

    /// Returns the new table (nil when the memtable held no entry).
    /// Throws `.keyspaceDropped` when the keyspace was dropped before the
    /// edit was logged (its table is removed then).
    @discardableResult
    static func run(_ request: Request, db: DBImpl) throws(DBError) -> FileMetaData? {
        let number = db.versions.newFileNumber()
        db.mu.withLock { _ = db.pendingOutputs.insert(number) }
        // After a failed MANIFEST write the edit may be on disk after all:
        // the table then stays pending (never swept) until reopen.
        var keepPending = false
        defer { if !keepPending { db.mu.withLock { _ = db.pendingOutputs.remove(number) } } }
        var edit = VersionEdit()
        edit.keyspaceId = request.keyspace.id
        let memtable = request.memtable
        let tombstones = memtable.rangeTombstones.all
        let folder = db.options.mergeOperator.map {
            MergeFolder(mergeOperator: $0, snapshots: request.snapshots, tombstones: tombstones)
        }
        let table = try TableFiles.build(from: memtable.makeIterator(), rangeTombstones: tombstones,
                                         number: number, dbPath: db.path, backend: db.backend,
                                         options: request.options, snapshots: request.snapshots, folder: folder)
        if let table {
            edit.addFile(level: 0, table)
            db.stats.flushBytesWritten.add(table.fileSizeBytes)
            db.stats.levelBytesWritten[0].add(table.fileSizeBytes)
        }
        edit.keyspaceLogNumbers = [(request.keyspace.id, request.logNumber)]
        for id in request.idleKeyspaces { edit.keyspaceLogNumbers.append((id, request.currentLogNumber)) }
        edit.lastSequence = db.mu.withLock { db.lastSequence }
        // Crash simulation: the process "died" before the edit.
        if db.isAbandoned { throw DBError.closed }
        do {
            try db.versions.logAndApply(edit)
        } catch DBError.io(let e) {
            keepPending = true
            throw DBError.io(e)
        } catch {
            if table != nil { try? db.backend.removeFile(FileNames.table(db.path, number)) }
            throw error
        }
        // Only flushes add L0 tables, so the peak is seen right after one
        // (a compaction running meanwhile can only lower the count).
        db.stats.peakL0Files.raise(to: UInt64(db.versions.maxLevel0FileCount))
        return table
    }
}

/// Writing one sorted run of entries to a table file.
enum TableFiles {
    /// Writes the entries of `iterator` and every range tombstone to table
    /// `number` (O_DIRECT when the filesystem allows), syncs it and its
    /// directory entry. Returns nil and leaves no file when both are empty.
    /// An entry hidden by a newer value or deletion of its key with no
    /// live snapshot (`snapshots`) between them is left out
    /// (`CompactionEntryFilter.forFlush`): a key overwritten many times
    /// while in the memtable reaches L0 once. With a `folder`, a run of
    /// merge operands is folded (`MergeFolder`; older tables may hold the
    /// key, so never as the bottom).
    static func build(from iterator: any InternalIterator, rangeTombstones: [RangeTombstone] = [], number: UInt64,
                      dbPath: String, backend: any IOBackend, options: Options, snapshots: [SequenceNumber],
                      folder: MergeFolder? = nil) throws(DBError) -> FileMetaData? {
        try iterator.seekToFirst()
        let tombstones = rangeTombstones.filter { compareBytes($0.start, $0.end) < 0 }
        guard iterator.isValid || !tombstones.isEmpty else { return nil }
        let output = try TableOutput(number: number, dbPath: dbPath, backend: backend, options: options)
        do throws(DBError) {
            output.addRangeTombstones(tombstones)
            var hidden = CompactionEntryFilter.forFlush(snapshots: snapshots)
            while iterator.isValid {
                let key = iterator.key
                guard key.count >= InternalKey.trailerSize else {
                    // Not an internal key (memtables hold none such): written as it is.
                    try output.add(key, iterator.value)
                    try iterator.next()
                    continue
                }
                let (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(key))
                if hidden.consider(userKey: InternalKey.userKey(key), sequence: sequence, type: type) == .drop {
                    try iterator.next()
                    continue
                }
                if let folder, type == ValueType.merge.rawValue {
                    // From an operand on, the rest of its key's versions
                    // (folding a suffix of a key's versions is sound).
                    let (userKey, entries) = try MergeFolder.collect(iterator)
                    for entry in folder.fold(userKey, entries, bottom: false) {
                        let ikey = InternalKey.make(userKey, entry.sequence, ValueType(rawValue: entry.type) ?? .merge)
                        try ikey.withBytes { (k) throws(DBError) in
                            try entry.value.withBytes { (v) throws(DBError) in try output.add(k, v) }
                        }
                    }
                    continue
                }
                try output.add(key, iterator.value)
                try iterator.next()
            }
            let meta = try output.finish()
            try ioCall(dbPath) { () throws(IOError) in try backend.syncDirectory(dbPath) }
            return meta
        } catch {
            output.abandon()
            try? backend.removeFile(FileNames.table(dbPath, number))
            throw error
        }
    }
}
