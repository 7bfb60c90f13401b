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
        /// What was dropped at the end of that MANIFEST, if anything.
        var droppedTail: DroppedTail?
        var droppedTailOffset: UInt64? { droppedTail?.offset }
        var droppedTailReason: String? { droppedTail?.reason }
    }

    /// What a new MANIFEST's snapshot edit holds: the whole state.
    struct Contents {
        var version: Version
        var logNumber: UInt64
        var nextFileNumber: UInt64
        var lastSequence: SequenceNumber
        var compactPointers: [[UInt8]?]

        /// A brand-new database. A fresh `Version`, not the shared `.empty`,
        /// so it can die like any other version once no reader holds it.
        static func empty(nextFileNumber: UInt64) -> Contents {
            Contents(version: Version(files: Array(repeating: [], count: Version.numLevels)), logNumber: 0,
                     nextFileNumber: nextFileNumber, lastSequence: 0,
                     compactPointers: [[UInt8]?](repeating: nil, count: Version.numLevels))
        }

        init(version: Version, logNumber: UInt64, nextFileNumber: UInt64, lastSequence: SequenceNumber,
             compactPointers: [[UInt8]?]) {
            self.version = version
            self.logNumber = logNumber
            self.nextFileNumber = nextFileNumber
            self.lastSequence = lastSequence
            self.compactPointers = compactPointers
        }

        init(_ replayed: ManifestReplay.Result, nextFileNumber: UInt64) {
            self.init(version: replayed.version, logNumber: replayed.logNumber, nextFileNumber: nextFileNumber,
                      lastSequence: replayed.lastSequence, compactPointers: replayed.compactPointers)
        }

        /// The contents with `edit` applied (recovery adds the tables it
        /// wrote and the new log number). Throws `.internalError` when it
        /// does not apply.
        func applying(_ edit: VersionEdit) throws(DBError) -> Contents {
            var builder = VersionBuilder(base: version)
            do throws(VersionBuilder.Violation) { try builder.apply(edit) } catch {
                throw DBError.internalError("version edit does not apply: \(error.reason)")
            }
            var next = self
            next.version = builder.build()
            next.logNumber = edit.logNumber ?? logNumber
            next.lastSequence = max(lastSequence, edit.lastSequence ?? 0)
            for (level, key) in edit.compactPointers { next.compactPointers[level] = key }
            return next
        }
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

    private init(dbPath: String, backend: any IOBackend, manifest: ManifestLog?, manifestNumber: UInt64,
                 contents: Contents, recovery: Recovery?) {
        self.dbPath = dbPath
        self.backend = backend
        self.recovery = recovery
        self.state = Locked(State(
            current: contents.version, nextFileNumber: contents.nextFileNumber, lastSequence: contents.lastSequence,
            logNumber: contents.logNumber, manifestFileNumber: manifestNumber,
            compactPointers: contents.compactPointers, versions: [WeakVersion(version: contents.version)]))
        self.manifest = Locked(manifest)
    }

    /// The version set of a database opened read-only: the replayed state,
    /// no MANIFEST to append to (`logAndApply` throws `.closed`), nothing
    /// written.
    static func readOnly(_ contents: Contents, manifestNumber: UInt64, dbPath: String, backend: any IOBackend,
                         recovery: Recovery) -> VersionSet {
        VersionSet(dbPath: dbPath, backend: backend, manifest: nil, manifestNumber: manifestNumber,
                   contents: contents, recovery: recovery)
    }

    // MARK: - Opening

    /// Starts the version set of a brand-new database in the existing
    /// directory `dbPath`: MANIFEST-000001 with an empty version, then
    /// CURRENT naming it. Throws `.alreadyExists` when CURRENT exists.
    static func create(dbPath: String, backend: any IOBackend) throws -> VersionSet {
        guard !FileSystem.exists(FileNames.current(dbPath)) else { throw DBError.alreadyExists(path: dbPath) }
        var switched = false
        return try install(.empty(nextFileNumber: 2), manifestNumber: 1, dbPath: dbPath, backend: backend,
                           recovery: nil, switched: &switched)
    }

    /// Opens the version set of an existing database: `replayCurrent`, then
    /// `install` of the recovered state in a new MANIFEST. The old MANIFEST
    /// is left for the obsolete-file sweep. (The engine's open goes through
    /// the two steps itself, with WAL replay between them.)
    ///
    /// A torn tail of the MANIFEST is dropped. A bad record before the tail
    /// throws `DBError.corruption` with the MANIFEST path and the record's
    /// offset, unless `strict` is false: then the valid prefix is used.
    static func recover(dbPath: String, backend: any IOBackend, strict: Bool = true) throws -> VersionSet {
        let current = try replayCurrent(dbPath: dbPath, backend: backend, strict: strict)
        let number = current.firstFreeFileNumber
        var switched = false
        return try install(Contents(current.replayed, nextFileNumber: number + 1), manifestNumber: number,
                           dbPath: dbPath, backend: backend, recovery: current.recovery, switched: &switched)
    }

    /// The state CURRENT's MANIFEST records, read without writing anything.
    struct ReplayedCurrent {
        var replayed: ManifestReplay.Result
        var manifestNumber: UInt64
        var recovery: Recovery
        /// The lowest number no file of the replayed state can hold, even
        /// when a torn edit took its `nextFileNumber` with it.
        var firstFreeFileNumber: UInt64 {
            max(replayed.nextFileNumber, manifestNumber + 1, replayed.version.maxFileNumber + 1,
                replayed.logNumber + 1)
        }
    }

    /// Reads CURRENT and replays every edit of the MANIFEST it names.
    /// Writes nothing, so a recovery that fails later leaves no trace.
    static func replayCurrent(dbPath: String, backend: any IOBackend, strict: Bool) throws -> ReplayedCurrent {
        let (name, number) = try CurrentFile.read(dbPath: dbPath, backend: backend)
        let path = dbPath + "/" + name
        guard FileSystem.exists(path) else {
            throw DBError.corruption(path: FileNames.current(dbPath), offset: 0,
                                     reason: "CURRENT names \(name), but \(path) does not exist")
        }
        let replayed = try ManifestReplay.run(path: path, backend: backend, strict: strict)
        return ReplayedCurrent(replayed: replayed, manifestNumber: number,
                               recovery: Recovery(manifestPath: path, recordCount: replayed.recordCount,
                                                  droppedTail: replayed.droppedTail))
    }

    /// Writes MANIFEST-`manifestNumber` holding one snapshot edit of
    /// `contents` and fsyncs it, fsyncs the directory (so CURRENT can never
    /// name a MANIFEST whose directory entry a crash could still lose —
    /// LevelDB added the same sync), then switches CURRENT to it.
    ///
    /// On failure before CURRENT names the new MANIFEST, the new file is
    /// removed. Once the rename succeeded it stays even if the directory
    /// sync after it fails: CURRENT may already name it on disk. `switched`
    /// tells the caller which case it is (the new state's other files —
    /// tables, WAL — must then stay too).
    static func install(_ contents: Contents, manifestNumber: UInt64, dbPath: String, backend: any IOBackend,
                        recovery: Recovery?, switched: inout Bool) throws -> VersionSet {
        precondition(manifestNumber < contents.nextFileNumber, "MANIFEST number not allocated")
        let snapshot = snapshotEdit(version: contents.version, logNumber: contents.logNumber,
                                    nextFileNumber: contents.nextFileNumber, lastSequence: contents.lastSequence,
                                    compactPointers: contents.compactPointers)
        let log = try ManifestLog.create(dbPath: dbPath, number: manifestNumber, snapshot: snapshot, backend: backend)
        do {
            try ioCall(dbPath) { () throws(IOError) in try backend.syncDirectory(dbPath) }
            try CurrentFile.write(dbPath: dbPath, manifestNumber: manifestNumber, backend: backend,
                                  switched: &switched)
        } catch {
            try? log.close()
            if !switched { try? backend.removeFile(log.path) }
            throw error
        }
        return VersionSet(dbPath: dbPath, backend: backend, manifest: log, manifestNumber: manifestNumber,
                          contents: contents, recovery: recovery)
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
        let log = try ManifestLog.create(dbPath: dbPath, number: number, snapshot: snapshot, backend: backend)
        try log.close()
        // The MANIFEST's directory entry is durable before CURRENT names it.
        try ioCall(dbPath) { () throws(IOError) in try backend.syncDirectory(dbPath) }
        var switched = false
        try CurrentFile.write(dbPath: dbPath, manifestNumber: number, backend: backend, switched: &switched)
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
    /// number) throws `.internalError` and nothing is written. A failed
    /// MANIFEST write or fsync throws `.io`, installs nothing, and makes every
    /// later call throw `.readOnly`.
    func logAndApply(_ edit: VersionEdit) throws(DBError) {
        try manifest.withLock { (log: inout ManifestLog?) throws(DBError) in
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
                throw DBError.internalError("version edit does not apply: \(error.reason)")
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
    private static func validate(_ edit: VersionEdit, nextFileNumber: UInt64, logNumber: UInt64) throws(DBError) {
        if let n = edit.logNumber, n < logNumber || n >= nextFileNumber {
            throw DBError.internalError(
                "version edit log number \(n) is outside [\(logNumber), \(nextFileNumber)) (current log number, next file number)")
        }
        if let n = edit.lastSequence, n > InternalKey.maxSequenceNumber {
            throw DBError.internalError("version edit last sequence \(n) exceeds 56 bits")
        }
        for (level, _) in edit.compactPointers where level < 0 || level >= Version.numLevels {
            throw DBError.internalError("version edit compact pointer level \(level) out of range")
        }
        for (level, file) in edit.newFiles where file.number >= nextFileNumber {
            throw DBError.internalError(
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
