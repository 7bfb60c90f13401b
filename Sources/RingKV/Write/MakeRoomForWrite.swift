import RingIO

extension DBImpl {
    /// Ensures the active memtable has room: switches it (and the WAL) when
    /// full or when `force`, and waits while the previous one is still
    /// being flushed or L0 is at its stop trigger (write stalls); from the
    /// slowdown trigger on, the leader first sleeps off the delay earlier
    /// groups owe (`WritePacer`, WriteStall.swift). Called by the leader
    /// with `mu` held.
    func makeRoomForWriteLocked(force: Bool) throws(DBError) {
        mu.assertHeld()
        var force = force
        var allowSlowdown = !force
        var stallStarted: UInt64?
        defer {
            if let stallStarted {
                let waited = MonotonicClock.nanos() - stallStarted
                stats.stalls.add(1)
                stats.stallNanos.add(waited)
                events.stalled(durationNanos: waited, l0Files: versions.current.fileCount(0),
                               reason: level0Stopped ? "L0 at its stop trigger" : "previous memtable still flushing")
            }
        }
        while true {
            if let failure = walFailure { throw DBError.refusingWrites(after: failure) }
            if allowSlowdown {
                allowSlowdown = false
                let nanos = writePacer.takeSleep()
                if nanos > 0 {
                    slowDownWriterLocked(nanos: nanos)
                    continue
                }
            }
            // An empty memtable always takes the batch, however small
            // `memtableSizeBytes` is (its arena alone may exceed it).
            if !force && (mem.approximateMemoryUsageBytes < options.memtableSizeBytes || mem.entryCount == 0) {
                return
            }
            if force && mem.entryCount == 0 { return }
            if imm != nil {
                if let failure = backgroundFailure { throw failure }
                if closing { throw DBError.closed }
                stallStarted = stallStarted ?? MonotonicClock.nanos()
                mu.wait()
                continue
            }
            if level0Stopped {
                try checkLevel0StopLocked()
                stallStarted = stallStarted ?? MonotonicClock.nanos()
                mu.wait()
                continue
            }
            if wal.hasUnsyncedWrites {
                // The old log's unsynced tail must be durable before any
                // write goes to the new log: a later synced group's
                // fdatasync covers only the new file, so a power loss could
                // otherwise keep later writes and lose earlier ones (no
                // prefix of the acknowledged history). One fdatasync per
                // switch; mu is released meanwhile (this writer leads the
                // queue, so nobody else touches the log).
                let log = wal
                mu.unlock()
                var failure: DBError?
                do { try log.syncUnsyncedWrites() } catch { failure = error }
                mu.lock()
                if let failure {
                    // As after any failed WAL fsync: no retry, read-only.
                    walFailure = walFailure ?? failure
                    throw failure
                }
                continue
            }
            // The new log is created (opened, its directory entry synced)
            // without mu, so reads go on meanwhile; this writer leads the
            // queue, so nobody else switches or writes.
            let number = versions.newFileNumber()
            mu.unlock()
            let created = Result { () throws(DBError) in
                try WALWriter.create(dbPath: path, number: number, options: options, backend: backend)
            }
            mu.lock()
            let newLog = try created.get()
            try? wal.close()
            wal = newLog
            imm = mem
            mem = options.makeMemTable()
            force = false
            wakeAllLocked()
        }
    }
}

extension WALWriter {
    /// Creates log `number` in `dbPath` and makes its directory entry durable
    /// (a synced write into a file whose name could vanish is not durable).
    /// Synced groups go through a ring of its own unless the backend is the
    /// POSIX one (io_uring refused, or `Options.forcePosixIO`).
    static func create(dbPath: String, number: UInt64, options: Options,
                       backend: any IOBackend) throws(DBError) -> WALWriter {
        let log = try WALWriter(path: FileNames.log(dbPath, number), number: number,
                                bufferCount: max(options.walBufferCount, 1),
                                bufferSizeBytes: options.walBufferSizeBytes,
                                preallocateStepBytes: options.walPreallocationStepBytes,
                                backend: backend, useRing: !options.forcePosixIO && backend.usesIOUring,
                                seam: options.ioSeam)
        try ioCall(dbPath) { () throws(IOError) in try backend.syncDirectory(dbPath) }
        return log
    }
}
