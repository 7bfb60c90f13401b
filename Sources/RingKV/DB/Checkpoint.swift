#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// `DB.checkpoint(to:)`: a directory that `DB(path:)` opens as a
/// consistent point-in-time copy of the database (docs/ARCHITECTURE.md
/// §Checkpoints). The source keeps serving reads and writes meanwhile.
///
/// 1. Obsolete-file deletion is paused (and running sweeps are waited
///    for), so no table or log the checkpoint names can vanish under it.
/// 2. With `mu` held and no WAL group in flight, the current log's written
///    length and the version set's state (every keyspace's version and log
///    number, counters) are read: every write acknowledged before the call is in that
///    version's tables or in the logs numbered from the log number up to
///    the current one, below that length.
/// 3. The tables are hard-linked (copied when the target is on another
///    filesystem: EXDEV), the logs copied (the current one up to the
///    captured length; older ones up to the written end they had when they
///    were retired, `closedLogSizes` — without their preallocated tail,
///    which the switch also cuts off the file but may have failed to; a
///    read-only database's up to where its open's replay ended; a log
///    known neither way — a follower's — whole), a MANIFEST
///    holding one snapshot edit of the captured state and a CURRENT naming
///    it are written, and every file and both directories are fsynced.
/// A failure removes the partial checkpoint directory and throws. Close
/// waits for a checkpoint in progress, which gives up at its next file or
/// 1 MiB chunk (`DBError.closed`, nothing left at the target); the sweep
/// of obsolete files that follows a checkpoint never runs after close, nor
/// for a database opened read-only.
extension DBImpl {
    func checkpoint(to target: String) throws {
        try mu.withLock { try checkOpenLocked() }
        let kind = try ioCall(target) { () throws(IOError) in try FileSystem.kind(of: target) }
        guard kind == nil else { throw DBError.alreadyExists(path: target) }
        let parent = FileSystem.parentDirectory(of: target)
        guard FileSystem.isDirectory(parent) else { throw DBError.notADirectory(path: parent) }
        // Through the backend: a test's wrapping backend (`IOSeam`) sees
        // the new directory like every other change. One mkdir that fails
        // when the name exists: a directory made there since the check
        // above (another checkpoint, a database) is never written into nor
        // removed by this one's cleanup.
        do throws(IOError) {
            try backend.createNewDirectory(target)
        } catch {
            if error.errno == EEXIST { throw DBError.alreadyExists(path: target) }
            throw DBError.io(error.at(path: target))
        }

        let capture: CheckpointCapture
        do {
            capture = try captureForCheckpoint()
        } catch {
            try? FileSystem.removeTree(target)
            throw error
        }
        defer {
            mu.withLock {
                fileDeletionsPaused -= 1
                mu.broadcast()  // close may be waiting for the checkpoint
            }
            deleteObsoleteFiles()
        }
        do {
            for version in capture.versions {
                for level in version.files {
                    for file in level {
                        try stopIfClosing()
                        try linkOrCopy(FileNames.table(path, file.number), to: FileNames.table(target, file.number))
                    }
                }
            }
            for number in capture.logNumbers {
                let length = number == capture.currentLogNumber
                    ? capture.currentLogLengthBytes : capture.closedLogLengthBytes[number]
                try copyFile(FileNames.log(path, number), to: FileNames.log(target, number), lengthBytes: length)
            }
            try stopIfClosing()
            try VersionSet.writeCheckpointManifest(dbPath: target, number: capture.manifestNumber,
                                                   snapshot: capture.snapshot, backend: backend)
            try ioCall(target) { () throws(IOError) in
                try backend.syncDirectory(target)
                try backend.syncDirectory(parent)
            }
        } catch {
            try? FileSystem.removeTree(target)
            throw error
        }
    }

    private struct CheckpointCapture {
        var snapshot: [VersionEdit]
        /// Every live keyspace's version.
        var versions: [Version]
        var manifestNumber: UInt64
        /// Logs to copy, oldest first; the last is the current one.
        var logNumbers: [UInt64]
        var currentLogNumber: UInt64
        var currentLogLengthBytes: UInt64
        /// The written end of each log closed since open; for a read-only
        /// database, of each log its open replayed (`replayedLogLengths`).
        var closedLogLengthBytes: [UInt64: UInt64]
    }

    /// Steps 1 and 2 above. On return deletions are paused (the caller
    /// resumes them).
    private func captureForCheckpoint() throws -> CheckpointCapture {
        mu.lock()
        // Under mu with the pause: close either sees this checkpoint and
        // waits for it, or has begun and the checkpoint does not start.
        if closing || closed {
            mu.unlock()
            throw DBError.closed
        }
        fileDeletionsPaused += 1
        // A group in flight has reserved log bytes it has not written yet;
        // a sweep that started before the pause may still delete files.
        while groupsInFlight > 0 || deletionSweepsRunning > 0 { mu.wait() }
        // A read-only database has no log writer and no current log: its
        // logs are copied to their replayed ends or whole (`replayedLogLengths`).
        let currentLog = options.readOnly ? UInt64.max : wal.number
        let currentLength = options.readOnly ? 0 : wal.offsetBytes
        var closedLengths: [UInt64: UInt64] = options.readOnly ? replayedLogLengths() : [:]
        for log in closedLogSizes { closedLengths[log.number] = log.sizeBytes }
        let state = versions.checkpointSnapshot()
        mu.unlock()
        let firstLog = state.logNumber
        let names: [String]
        do {
            names = try ioCall(path) { () throws(IOError) in try FileSystem.listDirectory(path) }
        } catch {
            mu.withLock {
                fileDeletionsPaused -= 1
                mu.broadcast()
            }
            throw error
        }
        let logs = names.compactMap(FileNames.parse)
            .filter { $0.kind == .log && $0.number >= firstLog && $0.number <= currentLog }
            .map(\.number).sorted()
        return CheckpointCapture(snapshot: state.edits, versions: state.versions, manifestNumber: state.manifestNumber,
                                 logNumbers: logs, currentLogNumber: currentLog,
                                 currentLogLengthBytes: currentLength, closedLogLengthBytes: closedLengths)
    }

    /// The logs a read-only open replayed, each up to the end of its valid
    /// records or, when recovery dropped a tail, of the dropped bytes worth
    /// keeping (`DroppedTail.endOffset`): the checkpoint's open then drops
    /// (and keeps in `lost/`) the same bytes, and no preallocated zeros are
    /// copied. Nothing changes these files while the shared LOCK is held.
    /// A follower's view moves at every catch-up while its primary writes
    /// on, and an open without a LOCK (Recovery.swift: none and none could
    /// be made) excludes no writer, which may have appended to a replayed
    /// log and gone on in a newer one: their logs are copied whole (empty
    /// here), so the copy never holds a newer log without the older one's
    /// later records.
    private func replayedLogLengths() -> [UInt64: UInt64] {
        guard !options.isFollower, holdsLock else { return [:] }
        var lengths: [UInt64: UInt64] = [:]
        for log in recovery.logs {
            guard let (kind, number) = FileNames.parse(FileSystem.baseName(log.path)), kind == .log else { continue }
            lengths[number] = log.validBytes
        }
        for drop in recovery.drops {
            guard let (kind, number) = FileNames.parse(FileSystem.baseName(drop.source)), kind == .log,
                  let length = lengths[number] else { continue }
            lengths[number] = max(length, drop.tail.endOffset)
        }
        return lengths
    }

    /// Throws `.closed` once close has begun: close waits for the
    /// checkpoint, which gives up instead of making it wait for a long copy.
    private func stopIfClosing() throws {
        if isShuttingDown { throw DBError.closed }
    }

    /// A hard link when source and target share a filesystem, else a copy.
    private func linkOrCopy(_ source: String, to destination: String) throws {
        do {
            try FileSystem.hardLink(source, to: destination)
        } catch where error.errno == EXDEV {
            try copyFile(source, to: destination, lengthBytes: nil)
        } catch {
            throw DBError.io(error)
        }
    }

    /// Copies the first `lengthBytes` of `source` (all of it when nil)
    /// through the backend, then fsyncs the copy.
    func copyFile(_ source: String, to destination: String, lengthBytes: UInt64?) throws {
        let chunkBytes = 1 << 20
        let buffer = AlignedBuffer(capacity: chunkBytes)
        let finished: Bool
        do throws(IOError) {
            finished = try copyChunks(source, to: destination, lengthBytes: lengthBytes, through: buffer)
        } catch {
            // A failed ring may still use the buffer: never freed then.
            if error.memoryMayStillBeInUse { buffer.quarantine() }
            throw DBError.io(error.at(path: error.path ?? source))
        }
        if !finished { throw DBError.closed }
    }

    /// Returns false when it stopped part way because close began.
    private func copyChunks(_ source: String, to destination: String, lengthBytes: UInt64?,
                            through buffer: borrowing AlignedBuffer) throws(IOError) -> Bool {
        let chunkBytes = buffer.capacity
        do {
            let input = try backend.openFile(source, .read, direct: .off)
            defer { try? input.close() }
            let output = try backend.openFile(destination, [.write, .create, .truncate], direct: .off)
            defer { try? output.close() }
            let total: UInt64
            if let lengthBytes { total = lengthBytes } else { total = try input.size() }
            var offset: UInt64 = 0
            while offset < total {
                if isShuttingDown { return false }
                let want = Int(min(UInt64(chunkBytes), total - offset))
                let chunk = UnsafeMutableRawBufferPointer(start: buffer.pointer, count: want)
                let got = try backend.read(fd: input.fd, into: chunk, offset: offset)
                if got == 0 {
                    // A file copied whole may have been cut meanwhile (a
                    // retired log: only zeros go); one copied to a length
                    // the checkpoint needs must hold it.
                    guard lengthBytes == nil else {
                        throw IOError(operation: "read", errno: EIO, path: source, offset: offset,
                                      detail: "the file ends before the \(total) bytes the checkpoint needs")
                    }
                    break
                }
                try backend.write(fd: output.fd, from: UnsafeRawBufferPointer(start: buffer.pointer, count: got),
                                  offset: offset)
                offset += UInt64(got)
            }
            try backend.sync(fd: output.fd, dataOnly: false)
            return true
        }
    }
}
