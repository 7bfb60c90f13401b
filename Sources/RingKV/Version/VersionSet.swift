import RingIO

/// The database's current `Version`, the counters persisted with it, and
/// the MANIFEST that logs every change (docs/FORMAT.md §MANIFEST).
///
/// Thread-safe. Two locks, always taken in this order, never the reverse:
/// 1. `manifest` serializes `logAndApply` and owns the open MANIFEST. It is
///    held across the MANIFEST write and fsync, so edits reach the log in
///    the order they are applied.
/// 2. `state` guards the in-memory picture: the current version, the
///    counters and the weak list of versions readers may still hold. It is
///    held only for short memory operations, never across I/O, so readers
///    taking `current` and flushes taking `newFileNumber()` do not wait on a
///    MANIFEST fsync.
final class VersionSet: Sendable {
    let dbPath: String
    let backend: any IOBackend
    /// How the MANIFEST this instance recovered from ended; nil after
    /// `create`.
    let recovery: Recovery?

    struct Recovery: Sendable {
        /// The MANIFEST that was replayed (now obsolete; a new one is live).
        var manifestPath: String
        var recordCount: Int
        /// Offset and reason when the end of that MANIFEST was dropped.
        var droppedTailOffset: UInt64?
        var droppedTailReason: String?
    }

    private struct WeakVersion {
        weak var version: Version?
    }

    private struct State {
        var current: Version
        var nextFileNumber: UInt64
        var lastSequence: SequenceNumber
        var logNumber: UInt64
        var manifestFileNumber: UInt64
        var compactPointers: [[UInt8]?]
        /// Every installed version that may still be alive. An entry dies
        /// when the last reader drops its reference; dead entries are pruned
        /// lazily.
        var versions: [WeakVersion]
    }

    private let state: Locked<State>
    /// nil after `close()`.
    private let manifest: Locked<ManifestLog?>

    private init(dbPath: String, backend: any IOBackend, manifest: ManifestLog, version: Version,
                 nextFileNumber: UInt64, lastSequence: SequenceNumber, logNumber: UInt64,
                 compactPointers: [[UInt8]?], recovery: Recovery?) {
        self.dbPath = dbPath
        self.backend = backend
        self.recovery = recovery
        self.state = Locked(State(
            current: version, nextFileNumber: nextFileNumber, lastSequence: lastSequence, logNumber: logNumber,
            manifestFileNumber: manifest.number, compactPointers: compactPointers,
            versions: [WeakVersion(version: version)]))
        self.manifest = Locked(manifest)
    }

    // MARK: - Opening

    /// Starts the version set of a brand-new database in the existing
    /// directory `dbPath`: MANIFEST-000001 with an empty version, then
    /// CURRENT naming it. Throws `.alreadyExists` when CURRENT exists.
    static func create(dbPath: String, backend: any IOBackend) throws -> VersionSet {
        guard !FileSystem.exists(FileNames.current(dbPath)) else { throw DBError.alreadyExists(path: dbPath) }
        let manifestNumber: UInt64 = 1
        let pointers = [[UInt8]?](repeating: nil, count: Version.numLevels)
        let snapshot = snapshotEdit(version: .empty, logNumber: 0, nextFileNumber: manifestNumber + 1,
                                    lastSequence: 0, compactPointers: pointers)
        let log = try startManifest(dbPath: dbPath, number: manifestNumber, snapshot: snapshot, backend: backend)
        // A fresh object, not the shared `.empty`, so it can die like any
        // other version once no reader holds it.
        let version = Version(files: Array(repeating: [], count: Version.numLevels))
        return VersionSet(dbPath: dbPath, backend: backend, manifest: log, version: version,
                          nextFileNumber: manifestNumber + 1, lastSequence: 0, logNumber: 0,
                          compactPointers: pointers, recovery: nil)
    }

    /// Opens the version set of an existing database: reads CURRENT,
    /// replays every edit of the MANIFEST it names, then writes a new
    /// MANIFEST holding one snapshot edit of the recovered state and points
    /// CURRENT at it. The old MANIFEST is left for the obsolete-file sweep.
    ///
    /// A torn tail of the MANIFEST is dropped. A bad record before the tail
    /// throws `DBError.corruption` with the MANIFEST path and the record's
    /// offset, unless `strict` is false: then the valid prefix is used.
    static func recover(dbPath: String, backend: any IOBackend, strict: Bool = true) throws -> VersionSet {
        let (name, number) = try CurrentFile.read(dbPath: dbPath, backend: backend)
        let oldPath = dbPath + "/" + name
        guard FileSystem.exists(oldPath) else {
            throw DBError.corruption(path: FileNames.current(dbPath), offset: 0,
                                     reason: "CURRENT names \(name), but \(oldPath) does not exist")
        }
        let replayed = try ManifestReplay.run(path: oldPath, backend: backend, strict: strict)
        // Never hand out a number already on disk, even if an edit that
        // recorded a higher next-file number was torn off.
        let newManifestNumber = max(replayed.nextFileNumber, number + 1, replayed.version.maxFileNumber + 1,
                                    replayed.logNumber + 1)
        let nextFileNumber = newManifestNumber + 1
        let snapshot = snapshotEdit(version: replayed.version, logNumber: replayed.logNumber,
                                    nextFileNumber: nextFileNumber, lastSequence: replayed.lastSequence,
                                    compactPointers: replayed.compactPointers)
        let log = try startManifest(dbPath: dbPath, number: newManifestNumber, snapshot: snapshot, backend: backend)
        let recovery = Recovery(manifestPath: oldPath, recordCount: replayed.recordCount,
                                droppedTailOffset: replayed.droppedTail?.offset,
                                droppedTailReason: replayed.droppedTail?.reason)
        return VersionSet(dbPath: dbPath, backend: backend, manifest: log, version: replayed.version,
                          nextFileNumber: nextFileNumber, lastSequence: replayed.lastSequence,
                          logNumber: replayed.logNumber, compactPointers: replayed.compactPointers,
                          recovery: recovery)
    }

    /// New MANIFEST with `snapshot` as its only record, then CURRENT switched
    /// to it. If the switch fails the new MANIFEST is removed again.
    private static func startManifest(dbPath: String, number: UInt64, snapshot: VersionEdit,
                                      backend: any IOBackend) throws -> ManifestLog {
        let log = try ManifestLog.create(dbPath: dbPath, number: number, snapshot: snapshot, backend: backend)
        do {
            try CurrentFile.write(dbPath: dbPath, manifestNumber: number, backend: backend)
        } catch {
            try? log.close()
            if (try? CurrentFile.read(dbPath: dbPath, backend: backend))?.number != number {
                try? FileSystem.remove(log.path)
            }
            throw error
        }
        return log
    }

    /// One edit that rebuilds the whole state on an empty version: the
    /// first record of every MANIFEST.
    private static func snapshotEdit(version: Version, logNumber: UInt64, nextFileNumber: UInt64,
                                     lastSequence: SequenceNumber, compactPointers: [[UInt8]?]) -> VersionEdit {
        var edit = VersionEdit()
        edit.formatVersion = VersionEdit.currentFormatVersion
        edit.logNumber = logNumber
        edit.nextFileNumber = nextFileNumber
        edit.lastSequence = lastSequence
        for (level, pointer) in compactPointers.enumerated() {
            if let pointer { edit.setCompactPointer(level: level, internalKey: pointer) }
        }
        for level in 0..<Version.numLevels {
            // Oldest first, so the snapshot reads like the history it replaces.
            let files = level == 0 ? version.files[0].reversed() : version.files[level]
            for f in files { edit.addFile(level: level, f) }
        }
        return edit
    }

    // MARK: - Checkpoints

    /// The current state as the snapshot edit a checkpoint's MANIFEST
    /// starts with, read atomically: the version, the log number (logs
    /// below it are in the version's tables), the counters. The checkpoint's
    /// MANIFEST takes `manifestNumber`, a number no file has (every file on
    /// disk is numbered below the counter).
    func checkpointSnapshot() -> (edit: VersionEdit, version: Version, manifestNumber: UInt64) {
        state.withLock { s in
            let number = s.nextFileNumber
            let edit = VersionSet.snapshotEdit(version: s.current, logNumber: s.logNumber, nextFileNumber: number + 1,
                                               lastSequence: s.lastSequence, compactPointers: s.compactPointers)
            return (edit, s.current, number)
        }
    }

    /// Writes MANIFEST-`number` holding `snapshot` and a CURRENT naming it
    /// into `dbPath` (a checkpoint directory), both fsynced.
    static func writeCheckpointManifest(dbPath: String, number: UInt64, snapshot: VersionEdit,
                                        backend: any IOBackend) throws {
        let log = try startManifest(dbPath: dbPath, number: number, snapshot: snapshot, backend: backend)
        try log.close()
    }

    /// Closes the MANIFEST; later `logAndApply` calls throw `.closed`.
    /// Idempotent.
    func close() throws {
        let log = manifest.withLock { log -> ManifestLog? in
            defer { log = nil }
            return log
        }
        try log?.close()
    }

    // MARK: - Reading the state

    /// The version readers should use now. Holding the returned object
    /// keeps its tables out of `liveFileNumbers()`'s complement.
    var current: Version { state.withLock { $0.current } }

    var nextFileNumber: UInt64 { state.withLock { $0.nextFileNumber } }
    var lastSequence: SequenceNumber { state.withLock { $0.lastSequence } }
    /// WAL files numbered below this are no longer needed.
    var logNumber: UInt64 { state.withLock { $0.logNumber } }
    /// Number of the live MANIFEST; every other MANIFEST-N is obsolete.
    var manifestFileNumber: UInt64 { state.withLock { $0.manifestFileNumber } }

    /// Where the next compaction of `level` should start, if recorded.
    func compactPointer(level: Int) -> [UInt8]? { state.withLock { $0.compactPointers[level] } }

    // MARK: - Counters

    /// Allocates a number for a new file (table, log, MANIFEST).
    func newFileNumber() -> UInt64 {
        state.withLock { s in
            defer { s.nextFileNumber += 1 }
            return s.nextFileNumber
        }
    }

    /// Makes sure `number` is never handed out again (a WAL found on disk
    /// during recovery).
    func markFileNumberUsed(_ number: UInt64) {
        state.withLock { s in s.nextFileNumber = max(s.nextFileNumber, number + 1) }
    }

    /// Raises the last sequence; the write path calls this after applying a
    /// batch. It never moves backwards.
    func setLastSequence(_ sequence: SequenceNumber) {
        state.withLock { s in s.lastSequence = max(s.lastSequence, sequence) }
    }

    // MARK: - Applying edits

    /// Applies `edit` to the current version, logs it durably to the
    /// MANIFEST, then installs the result as the new current version.
    ///
    /// Filled in here: `nextFileNumber` (always the current counter),
    /// `lastSequence` (the larger of the edit's and the set's) and
    /// `logNumber` (kept from the set when the edit has none). An edit that
    /// does not apply (deletes a missing table, overlaps at L1+, reuses a
    /// number) throws `.invalidArgument` and nothing is written. A failed
    /// MANIFEST write or fsync throws `.io`, installs nothing, and makes every
    /// later call throw `.readOnly`.
    func logAndApply(_ edit: VersionEdit) throws {
        try manifest.withLock { (log: inout ManifestLog?) throws in
            guard var active = log else { throw DBError.closed }
            // `active` carries the new append offset or failure back.
            defer { log = active }
            var edit = edit
            let (base, nextFileNumber, lastSequence, logNumber) = state.withLock {
                ($0.current, $0.nextFileNumber, $0.lastSequence, $0.logNumber)
            }
            try VersionSet.validate(edit, nextFileNumber: nextFileNumber, logNumber: logNumber)
            edit.formatVersion = nil
            edit.logNumber = edit.logNumber ?? logNumber
            edit.nextFileNumber = nextFileNumber
            edit.lastSequence = max(lastSequence, edit.lastSequence ?? 0)

            var builder = VersionBuilder(base: base)
            do throws(VersionBuilder.Violation) { try builder.apply(edit) } catch {
                throw DBError.invalidArgument("version edit does not apply: \(error.reason)")
            }
            let version = builder.build()

            try active.append(edit.encode(), backend: backend)

            state.withLock { s in
                s.current = version
                s.logNumber = edit.logNumber ?? s.logNumber
                s.lastSequence = max(s.lastSequence, edit.lastSequence ?? 0)
                for (level, key) in edit.compactPointers { s.compactPointers[level] = key }
                s.versions.removeAll { $0.version == nil }
                s.versions.append(WeakVersion(version: version))
            }
        }
    }

    /// Checks what `VersionBuilder` cannot: numbers and levels that only
    /// our own code could get wrong.
    private static func validate(_ edit: VersionEdit, nextFileNumber: UInt64, logNumber: UInt64) throws {
        if let n = edit.logNumber, n < logNumber || n >= nextFileNumber {
            throw DBError.invalidArgument(
                "version edit log number \(n) is outside [\(logNumber), \(nextFileNumber)) (current log number, next file number)")
        }
        if let n = edit.lastSequence, n > InternalKey.maxSequenceNumber {
            throw DBError.invalidArgument("version edit last sequence \(n) exceeds 56 bits")
        }
        for (level, _) in edit.compactPointers where level < 0 || level >= Version.numLevels {
            throw DBError.invalidArgument("version edit compact pointer level \(level) out of range")
        }
        for (level, file) in edit.newFiles where file.number >= nextFileNumber {
            throw DBError.invalidArgument(
                "version edit adds file \(file.number) at level \(level), but it was never allocated (next is \(nextFileNumber))")
        }
    }

    // MARK: - Live files

    /// Every table number referenced by the current version or by an older
    /// version some reader still holds. A table not in this set (and not a
    /// flush or compaction output still being written) may be deleted.
    func liveFileNumbers() -> Set<UInt64> {
        state.withLock { s in
            s.versions.removeAll { $0.version == nil }
            var numbers = s.current.fileNumbers
            for entry in s.versions {
                if let v = entry.version, v !== s.current { numbers.formUnion(v.fileNumbers) }
            }
            return numbers
        }
    }

    /// How many installed versions are still referenced (current included).
    func liveVersionCount() -> Int {
        state.withLock { s in
            s.versions.removeAll { $0.version == nil }
            return s.versions.count
        }
    }
}
