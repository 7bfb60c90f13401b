#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// The database's side of `DB.ingest` (the steps are described on
/// `IngestJob`): check, stage, then commit as a leader-only request of the
/// writer queue inside a manual-compaction slot (no compaction moves
/// tables while levels are chosen), flushing the keyspace first whenever
/// its memtables hold something of the files' ranges.
extension DBImpl {
    /// How often a commit that found the memtables overlapping again
    /// (writes arrived after the flush) flushes and retries before giving
    /// up.
    static let ingestFlushAttempts = 8

    func ingest(_ paths: [String], into keyspace: KeyspaceData, move: Bool) throws(DBError) {
        try checkWritable()
        try TTLPolicy.refuseTables(for: keyspace.stampsWriteTime, keyspace: keyspace.name)
        guard !paths.isEmpty else { return }
        if move {
            for path in paths { try refuseOwnFile(path, "moving it would delete it (ingest a copy, or without move)") }
        }
        let prefixLength = mu.withLock { keyspace.options.prefixFilterLength }
        var checked: [IngestJob.Input] = []
        for path in paths { checked.append(try IngestJob.check(path, prefixLength: prefixLength, backend: backend)) }
        let job = IngestJob(keyspace: keyspace, inputs: try IngestJob.ordered(checked))
        try stageIngest(job)
        defer { finishIngest(job) }
        var attempt = 0
        while true {
            let overlapping = try mu.withLock { () throws(DBError) -> Bool in
                if let failure = keyspace.unavailableLocked(in: self, forWrite: true) { throw failure }
                return job.overlaps(keyspace.mem) || (keyspace.imm.map(job.overlaps) ?? false)
            }
            if overlapping { try flushMemtable(keyspace) }
            job.needsFlush = false
            try asManualCompaction { () throws(DBError) in
                try pipeline.commit(.control(KeyspaceControl(.ingest(job))), sync: false, in: self)
            }
            if !job.needsFlush { break }
            attempt += 1
            if attempt >= DBImpl.ingestFlushAttempts {
                throw DBError.tableFileRefused(path: job.inputs[0].sourcePath, reason:
                    "writes to the files' key ranges kept the memtable overlapping them through "
                    + "\(attempt) flushes; nothing was ingested")
            }
        }
        if move {
            for input in job.inputs { try? backend.removeFile(input.sourcePath) }
        }
    }

    /// Refuses `source` (`.tableFileRefused` saying `consequence`) when it
    /// names a file of this database's own directory with a name the
    /// database owns: an ingest's move would delete it (a live table passes
    /// every check once an ingest left its entries at sequence 0), a
    /// `TableFileWriter` would truncate it. The directories are compared by
    /// device and inode.
    func refuseOwnFile(_ source: String, _ consequence: String) throws(DBError) {
        let slash = source.lastIndex(of: "/")
        let name = slash.map { String(source[source.index(after: $0)...]) } ?? source
        guard FileNames.parse(name) != nil else { return }
        let parent = slash.map { $0 == source.startIndex ? "/" : String(source[..<$0]) } ?? "."
        var sourceDir = stat(), dbDir = stat()
        guard stat(parent, &sourceDir) == 0, stat(path, &dbDir) == 0,
              sourceDir.st_dev == dbDir.st_dev, sourceDir.st_ino == dbDir.st_ino else { return }
        throw DBError.tableFileRefused(path: source, reason: "it names a file of this database's own directory; "
                                       + consequence)
    }

    /// Links (or copies) every input into the database directory under a
    /// temp name, fsyncs each and the directory.
    private func stageIngest(_ job: IngestJob) throws(DBError) {
        for i in job.inputs.indices {
            let number = versions.newFileNumber()
            mu.withLock { _ = pendingOutputs.insert(number) }
            job.inputs[i].tempNumber = number
            let staged = FileNames.temp(path, number)
            let source = job.inputs[i].sourcePath
            var linked = true
            do throws(IOError) {
                try FileSystem.hardLink(source, to: staged)
            } catch where error.code == .crossDevice || error.errno == EPERM {
                linked = false  // another filesystem, or one without hard links
            } catch {
                throw DBError.io(error.at(path: error.path ?? staged))
            }
            if linked {
                // The link shares the source's data: make sure it is on
                // disk (a no-op for TableFileWriter's synced files).
                try ioCall(staged) { () throws(IOError) in
                    let file = try backend.openFile(staged, .read, direct: .off)
                    defer { try? file.close() }
                    try backend.sync(fd: file.fd, dataOnly: false)
                }
            } else {
                do {
                    try copyFile(source, to: staged, lengthBytes: nil)
                } catch let error as DBError {
                    throw error
                } catch {
                    throw DBError.internalError("copying \(source): \(error)")
                }
            }
        }
        try ioCall(path) { () throws(IOError) in try backend.syncDirectory(path) }
    }

    /// Removes what an ingest left behind: its temp files and, when it did
    /// not commit, its tables; and its numbers from `pendingOutputs`
    /// (unless a failed MANIFEST write may have logged the edit: they then
    /// stay pending until reopen, as a flush's do).
    private func finishIngest(_ job: IngestJob) {
        for input in job.inputs where input.tempNumber != 0 {
            try? backend.removeFile(FileNames.temp(path, input.tempNumber))
        }
        if !job.committed && !job.mayBeLogged {
            for input in job.inputs where input.tableNumber != 0 {
                try? backend.removeFile(FileNames.table(path, input.tableNumber))
            }
        }
        if job.committed || !job.mayBeLogged {
            mu.withLock {
                for input in job.inputs {
                    pendingOutputs.remove(input.tempNumber)
                    pendingOutputs.remove(input.tableNumber)
                }
            }
        }
    }

    /// The commit, as the writer queue's leader (KeyspaceLifecycle.swift's
    /// `runKeyspaceControlLocked`). Caller holds `mu` and leads; it is
    /// released while the files are renamed and the edit is logged.
    func commitIngestLocked(_ job: IngestJob) throws(DBError) {
        mu.assertHeld()
        let keyspace = job.keyspace
        if let failure = keyspace.unavailableLocked(in: self, forWrite: true) { throw failure }
        if job.overlaps(keyspace.mem) || (keyspace.imm.map(job.overlaps) ?? false) {
            job.needsFlush = true
            return
        }
        guard let version = versions.current(keyspace: keyspace.id) else {
            throw DBError.keyspaceDropped(name: keyspace.name)
        }
        // The edit must not outlive, on a power loss, writes acknowledged
        // before it: the history stays a prefix.
        if wal.hasUnsyncedWrites { try syncLogLocked() }
        let sequence = pipeline.allocateSequenceLocked()
        job.globalSequence = sequence
        for i in job.inputs.indices {
            job.inputs[i].level = IngestJob.level(for: job.inputs[i], in: version)
            let number = versions.newFileNumber()
            pendingOutputs.insert(number)
            job.inputs[i].tableNumber = number
        }
        mu.unlock()
        let result = Result { () throws(DBError) in try logIngest(job) }
        mu.lock()
        try result.get()
        // A transaction that touched this keyspace before the ingest
        // conflicts (docs/TRANSACTIONS.md: conservative, as for range
        // deletions).
        pipeline.conflicts.raiseWholeKeyspace(keyspace.id, to: sequence)
        lastSequence = sequence
        wakeAllLocked()  // compaction workers: levels changed
    }

    /// Renames the staged files to their table names and logs the edit.
    /// Without `mu`, by the leader.
    private func logIngest(_ job: IngestJob) throws(DBError) {
        for input in job.inputs {
            try ioCall(path) { () throws(IOError) in
                try backend.rename(FileNames.temp(path, input.tempNumber), to: FileNames.table(path, input.tableNumber))
            }
        }
        try ioCall(path) { () throws(IOError) in try backend.syncDirectory(path) }
        var edit = VersionEdit()
        edit.keyspaceId = job.keyspace.id
        edit.lastSequence = job.globalSequence
        for input in job.inputs {
            tableCache.registerGlobalSequence(job.globalSequence, fileNumber: input.tableNumber)
            edit.addFile(level: input.level, FileMetaData(
                number: input.tableNumber, fileSizeBytes: input.fileSizeBytes,
                smallest: InternalKey.make(input.smallestUserKey, job.globalSequence, .value),
                largest: InternalKey.make(input.largestUserKey, job.globalSequence, .value),
                smallestSequence: job.globalSequence, largestSequence: job.globalSequence,
                globalSequence: job.globalSequence))
        }
        // Crash simulation: the process "died" before the edit.
        if isAbandoned { throw DBError.closed }
        do {
            try versions.logAndApply(edit)
        } catch DBError.io(let e) {
            job.mayBeLogged = true
            throw DBError.io(e)
        }
        job.committed = true
    }
}
