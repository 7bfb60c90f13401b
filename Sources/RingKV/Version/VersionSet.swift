import RingIO

/// The database's current `Version`, the counters persisted with it, and
/// the MANIFEST that logs every change (docs/FORMAT.md §MANIFEST).
///
/// Thread-safe. Two locks, always taken in this order, never the reverse:
/// 1. `manifest` serializes `logAndApply` and owns the open MANIFEST. It is
///    held across the MANIFEST write and fsync, so edits reach the log in
///    the order they are applied.
/// 2. `state` guards the in-memory picture: the current version and the
///    counters (`liveVersions`, taken after it, tracks the versions readers
///    may still hold). It is held only for short memory operations, never
///    across I/O, so readers taking `current` and flushes taking
///    `newFileNumber()` do not wait on a MANIFEST fsync.
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

    /// What a new MANIFEST's snapshot records hold: the whole state.
    struct Contents {
        /// Every live keyspace: version, log number, compact pointers, options.
        var catalog: KeyspaceCatalog<Version>
        var nextFileNumber: UInt64
        var lastSequence: SequenceNumber

        /// A brand-new database: the default keyspace alone. A fresh
        /// `Version`, not the shared `.empty`, so it can die like any other
        /// version once no reader holds it.
        static func empty(nextFileNumber: UInt64) -> Contents {
            var catalog = KeyspaceCatalog<Version>(defaultFiles: Version(files: Array(repeating: [],
                                                                                         count: Version.numLevels)))
            catalog.fillLogNumbers(0)
            return Contents(catalog: catalog, nextFileNumber: nextFileNumber, lastSequence: 0)
        }

        init(catalog: KeyspaceCatalog<Version>, nextFileNumber: UInt64, lastSequence: SequenceNumber) {
            self.catalog = catalog
            self.nextFileNumber = nextFileNumber
            self.lastSequence = lastSequence
        }

        init(_ replayed: ManifestReplay.Result, nextFileNumber: UInt64) {
            self.init(catalog: replayed.catalog, nextFileNumber: nextFileNumber, lastSequence: replayed.lastSequence)
        }

        /// The default keyspace's version.
        var version: Version { catalog[0]?.files ?? .empty }
        /// The database's log number (the smallest keyspace log number).
        var logNumber: UInt64 { catalog.minLogNumber ?? 0 }

        /// The contents with `edit` applied (recovery adds the tables it
        /// wrote and the new log numbers). Throws `.internalError` when it
        /// does not apply.
        func applying(_ edit: VersionEdit) throws(DBError) -> Contents {
            var next = self
            try VersionSet.apply(edit, to: &next.catalog)
            next.lastSequence = max(lastSequence, edit.lastSequence ?? 0)
            return next
        }
    }

    static func emptyVersion() -> Version { Version(files: Array(repeating: [], count: Version.numLevels)) }

    private struct State {
        /// Every live keyspace's current version, log number, compact
        /// pointers and options.
        var catalog: KeyspaceCatalog<Version>
        /// The default keyspace's current version (the read path's: no
        /// dictionary lookup per read).
        var defaultVersion: Version
        var nextFileNumber: UInt64
        var lastSequence: SequenceNumber
        /// The smallest keyspace log number.
        var logNumber: UInt64
        /// The most L0 tables of any live keyspace (write stalls).
        var maxLevel0Files: Int
        var manifestFileNumber: UInt64

        mutating func refreshDerived() {
            defaultVersion = catalog[0]?.files ?? defaultVersion
            logNumber = catalog.minLogNumber ?? logNumber
            maxLevel0Files = catalog.live.values.reduce(0) { max($0, $1.files.fileCount(0)) }
        }
    }

    private let state: Locked<State>
    /// Installed versions readers may still hold (taken after `state`).
    private let liveVersions = LiveVersions()
    /// nil after `close()`.
    private let manifest: Locked<ManifestLog?>

    private init(dbPath: String, backend: any IOBackend, manifest: ManifestLog?, manifestNumber: UInt64,
                 contents: Contents, recovery: Recovery?) {
        self.dbPath = dbPath
        self.backend = backend
        self.recovery = recovery
        var initial = State(catalog: contents.catalog, defaultVersion: contents.version,
                            nextFileNumber: contents.nextFileNumber, lastSequence: contents.lastSequence,
                            logNumber: contents.logNumber, maxLevel0Files: 0, manifestFileNumber: manifestNumber)
        initial.refreshDerived()
        self.state = Locked(initial)
        self.manifest = Locked(manifest)
        for entry in contents.catalog.live.values { liveVersions.track(entry.files) }
    }

    /// The version set of a database opened read-only: the replayed state,
    /// no MANIFEST to append to (`logAndApply` throws `.closed`), nothing
    /// written.
    static func readOnly(_ contents: Contents, manifestNumber: UInt64, dbPath: String, backend: any IOBackend,
                         recovery: Recovery) -> VersionSet {
        VersionSet(dbPath: dbPath, backend: backend, manifest: nil, manifestNumber: manifestNumber,
                   contents: contents, recovery: recovery)
    }

    /// A follower's catch-up (FollowerCatchUp.swift): the state replayed
    /// from the primary's MANIFEST replaces this one's. Versions readers
    /// hold stay alive as ever; nothing is written.
    func adoptFollowerContents(_ contents: Contents, manifestNumber: UInt64) {
        state.withLock { s in
            s.catalog = contents.catalog
            s.nextFileNumber = contents.nextFileNumber
            s.lastSequence = contents.lastSequence
            s.manifestFileNumber = manifestNumber
            for entry in contents.catalog.live.values { liveVersions.track(entry.files) }
            s.refreshDerived()
        }
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
            let maxTable = replayed.catalog.live.values.reduce(UInt64(0)) { max($0, $1.files.maxFileNumber) }
            let maxLog = replayed.catalog.live.values.reduce(replayed.logNumber) { max($0, $1.logNumber ?? 0) }
            return max(replayed.nextFileNumber, manifestNumber + 1, maxTable + 1, maxLog + 1)
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

    /// Writes MANIFEST-`manifestNumber` holding the snapshot records of
    /// `contents` (`snapshotEdits`) and fsyncs it, fsyncs the directory (so CURRENT can never
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
        let snapshot = snapshotEdits(contents.catalog, nextFileNumber: contents.nextFileNumber,
                                     lastSequence: contents.lastSequence)
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

    /// Applies `edit` to the live catalog: keyspace records, log numbers
    /// (which only move forward) and the files of the keyspace it names.
    /// An edit that does not apply is a bug of the engine, not damage.
    static func apply(_ edit: VersionEdit, to catalog: inout KeyspaceCatalog<Version>) throws(DBError) {
        do throws(VersionBuilder.Violation) {
            try catalog.apply(edit, monotonicLogNumbers: true, emptyFiles: { VersionSet.emptyVersion() },
                              applyFiles: { (version) throws(VersionBuilder.Violation) in
                                  var builder = VersionBuilder(base: version)
                                  try builder.apply(edit)
                                  version = builder.build()
                              })
        } catch {
            throw DBError.internalError("version edit does not apply: \(error.reason)")
        }
    }

    /// The records that rebuild the whole state on an empty one, the
    /// first records of every MANIFEST (docs/FORMAT.md §Snapshot edit): a
    /// global record (format version, counters, the largest keyspace id
    /// and the database's log number), two records per dropped keyspace
    /// the catalog still carries (its create record and its drop,
    /// DroppedKeyspaces.swift), then one record per live keyspace,
    /// "default" first: its create record, log number, compact pointers
    /// and tables. The MANIFEST is named by CURRENT only once all of them
    /// are synced, so the snapshot is atomic however many records it takes.
    static func snapshotEdits(_ catalog: KeyspaceCatalog<Version>, nextFileNumber: UInt64,
                              lastSequence: SequenceNumber) -> [VersionEdit] {
        var global = VersionEdit()
        global.formatVersion = VersionEdit.currentFormatVersion
        global.logNumber = catalog.minLogNumber ?? 0
        global.nextFileNumber = nextFileNumber
        global.lastSequence = lastSequence
        global.maxKeyspaceId = catalog.maxKeyspaceId
        // The global record, two per carried dropped keyspace and one per
        // live keyspace: replay refuses a MANIFEST that ends inside them
        // (docs/FORMAT.md §Snapshot edit).
        let dropped = DroppedKeyspaces.snapshotEdits(catalog.dropped, nextFileNumber: nextFileNumber)
        global.snapshotRecordCount = UInt64(1 + catalog.entries.count + dropped.count)
        // Dropped keyspaces first: a live one may have taken a dropped one's name.
        var edits = [global] + dropped
        for entry in catalog.entries {
            var edit = VersionEdit()
            edit.keyspaceId = entry.record.id
            edit.createdKeyspaces = [entry.record]
            edit.keyspaceLogNumbers = [(entry.record.id, entry.logNumber ?? 0)]
            for (level, pointer) in entry.compactPointers.enumerated() {
                if let pointer { edit.setCompactPointer(level: level, internalKey: pointer) }
            }
            let version = entry.files
            for level in 0..<Version.numLevels {
                // Oldest first, so the snapshot reads like the history it replaces.
                let files = level == 0 ? version.files[0].reversed() : version.files[level]
                for f in files { edit.addFile(level: level, f) }
            }
            edits.append(edit)
        }
        return edits
    }

    // MARK: - Checkpoints

    /// The current state as the snapshot records a checkpoint's MANIFEST
    /// starts with, read atomically: every keyspace's version and log
    /// number (logs below the smallest are in tables), the counters. The
    /// checkpoint's MANIFEST takes `manifestNumber`, a number no file has
    /// (every file on disk is numbered below the counter).
    func checkpointSnapshot() -> (edits: [VersionEdit], versions: [Version], logNumber: UInt64, manifestNumber: UInt64) {
        state.withLock { s in
            let number = s.nextFileNumber
            let edits = VersionSet.snapshotEdits(s.catalog, nextFileNumber: number + 1, lastSequence: s.lastSequence)
            return (edits, s.catalog.entries.map(\.files), s.logNumber, number)
        }
    }

    /// Writes MANIFEST-`number` holding `snapshot` and a CURRENT naming it
    /// into `dbPath` (a checkpoint directory), both fsynced.
    static func writeCheckpointManifest(dbPath: String, number: UInt64, snapshot: [VersionEdit],
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

    /// The default keyspace's version readers should use now. Holding the
    /// returned object keeps its tables out of `liveFileNumbers()`'s
    /// complement.
    var current: Version { state.withLock { $0.defaultVersion } }

    /// Keyspace `id`'s current version; nil once it is dropped.
    func current(keyspace id: UInt32) -> Version? {
        state.withLock { s in id == 0 ? s.defaultVersion : s.catalog[id]?.files }
    }

    var nextFileNumber: UInt64 { state.withLock { $0.nextFileNumber } }
    var lastSequence: SequenceNumber { state.withLock { $0.lastSequence } }
    /// WAL files numbered below this are no longer needed by any keyspace.
    var logNumber: UInt64 { state.withLock { $0.logNumber } }
    /// Keyspace `id`'s log number (nil: not live).
    func logNumber(keyspace id: UInt32) -> UInt64? { state.withLock { $0.catalog[id]?.logNumber } }
    /// Number of the live MANIFEST; every other MANIFEST-N is obsolete.
    var manifestFileNumber: UInt64 { state.withLock { $0.manifestFileNumber } }
    /// The most L0 tables any live keyspace has.
    var maxLevel0FileCount: Int { state.withLock { $0.maxLevel0Files } }
    /// The largest keyspace id ever handed out.
    var maxKeyspaceId: UInt32 { state.withLock { $0.catalog.maxKeyspaceId } }
    /// The live keyspaces' create records, "default" first, then by id.
    var keyspaceRecords: [VersionEdit.KeyspaceRecord] { state.withLock { $0.catalog.entries.map(\.record) } }
    /// The create records of dropped keyspaces still carried (their
    /// changes may be in WAL files on disk), by id.
    var droppedKeyspaceRecords: [UInt32: VersionEdit.KeyspaceRecord] {
        state.withLock { $0.catalog.dropped.mapValues(\.record) }
    }
    /// The name keyspace `id` had, live or dropped.
    func keyspaceName(_ id: UInt32) -> String? {
        state.withLock { $0.catalog[id]?.record.name ?? $0.catalog.dropped[id]?.name }
    }

    /// Where the next compaction of `level` of the default keyspace should
    /// start, if recorded.
    func compactPointer(level: Int) -> [UInt8]? { state.withLock { $0.catalog[0]?.compactPointers[level] } }

    /// Keyspace `id`'s compact pointers, one per level (nil: not live).
    func compactPointers(keyspace id: UInt32) -> [[UInt8]?]? { state.withLock { $0.catalog[id]?.compactPointers } }

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

    /// Applies `edit` to the current version of its keyspace (and the
    /// keyspace changes it carries), logs it durably to the MANIFEST, then
    /// installs the result.
    ///
    /// Filled in here: `nextFileNumber` (always the current counter),
    /// `lastSequence` (the larger of the edit's and the set's) and
    /// `logNumber` (the smallest keyspace log number after the edit). An
    /// edit's own `logNumber` is shorthand for its keyspace's log number
    /// (the meaning it had before keyspaces). An edit that does not apply
    /// (deletes a missing table, overlaps at L1+, reuses a number, moves a
    /// log number back) throws `.internalError`; one that changes the
    /// tables of a dropped keyspace throws `.keyspaceDropped`; nothing is
    /// written then. A failed MANIFEST write or fsync throws `.io`,
    /// installs nothing, and makes every later call throw `.readOnly`.
    func logAndApply(_ edit: VersionEdit) throws(DBError) {
        try manifest.withLock { (log: inout ManifestLog?) throws(DBError) in
            guard var active = log else { throw DBError.closed }
            // `active` carries the new append offset or failure back.
            defer { log = active }
            var edit = edit
            let (catalog, nextFileNumber, lastSequence) = state.withLock { ($0.catalog, $0.nextFileNumber, $0.lastSequence) }
            if let n = edit.logNumber, !edit.keyspaceLogNumbers.contains(where: { $0.id == edit.keyspaceId }) {
                edit.keyspaceLogNumbers.append((edit.keyspaceId, n))
            }
            // An idle keyspace's log number (a flush's edit moves them up)
            // of a keyspace dropped meanwhile has nothing left to say.
            edit.keyspaceLogNumbers.removeAll { catalog[$0.id] == nil && catalog.dropped[$0.id] != nil }
            if edit.changesFiles, catalog[edit.keyspaceId] == nil {
                throw DBError.keyspaceDropped(name: catalog.dropped[edit.keyspaceId]?.name ?? "#\(edit.keyspaceId)")
            }
            try VersionSet.validate(edit, nextFileNumber: nextFileNumber)
            var next = catalog
            try VersionSet.apply(edit, to: &next)
            edit.formatVersion = nil
            edit.logNumber = next.minLogNumber
            edit.nextFileNumber = nextFileNumber
            edit.lastSequence = max(lastSequence, edit.lastSequence ?? 0)

            try active.append(edit.encode(), backend: backend)

            let installed = edit.changesFiles ? next[edit.keyspaceId]?.files : nil
            let created = edit.createdKeyspaces.compactMap { next[$0.id]?.files }
            state.withLock { s in
                s.catalog = next
                s.lastSequence = max(s.lastSequence, edit.lastSequence ?? 0)
                s.refreshDerived()
                for version in created + (installed.map { [$0] } ?? []) { liveVersions.track(version) }
            }
        }
    }

    /// Checks what the catalog and `VersionBuilder` cannot: numbers and
    /// levels that only our own code could get wrong.
    private static func validate(_ edit: VersionEdit, nextFileNumber: UInt64) throws(DBError) {
        for (id, n) in edit.keyspaceLogNumbers where n >= nextFileNumber {
            throw DBError.internalError(
                "version edit sets keyspace \(id)'s log number \(n), at or past the next file number \(nextFileNumber)")
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

    /// Every table number referenced by a live keyspace's current version
    /// or by an older version some reader still holds (of a dropped
    /// keyspace too). A table not in this set (and not a flush or
    /// compaction output still being written) may be deleted.
    func liveFileNumbers() -> Set<UInt64> {
        state.withLock { s in
            var numbers = liveVersions.fileNumbers
            for entry in s.catalog.live.values { numbers.formUnion(entry.files.fileNumbers) }
            return numbers
        }
    }

    /// How many installed versions are still referenced (current included).
    func liveVersionCount() -> Int {
        liveVersions.count
    }
}
