import Glibc
import RingIO

/// Opening a database directory: lock, MANIFEST, WAL replay, fresh log.
///
/// Two phases (docs/ARCHITECTURE.md §Recovery). The *reading* phase
/// replays CURRENT's MANIFEST, checks that every table it names is there,
/// and replays the live WALs into memtables; the only files it writes are
/// the L0 tables those memtables become, which nothing names yet and which
/// are removed if the open fails — so an open that refuses (damage, a
/// missing file) leaves the directory as it found it. The *writing* phase
/// then keeps every dropped byte under `lost/`, creates the new WAL, and
/// installs the tables and the WAL with one new MANIFEST and a CURRENT
/// switch. Until that switch,
/// CURRENT names the old MANIFEST and the old logs are untouched: a crash
/// or failure anywhere before it recovers the same state again (the new
/// files are removed on failure, or swept as unreferenced at the next
/// open); after it, the new state is complete.
///
/// A read-only open (`Options.readOnly`) runs the reading phase only, with
/// the WAL replayed into one memtable and no table written, and takes the
/// LOCK shared. The only thing it may write is that LOCK file, empty, when
/// the directory has none (a checkpoint, a copy): a writer must still be
/// kept out while it reads (`takeLock`).
package enum DatabaseRecovery {
    struct Opened {
        /// nil: opened read-only where no LOCK file exists and none can be
        /// created (`unlockedBecause` says why).
        var lock: FileLock?
        var unlockedBecause: String?
        var versions: VersionSet
        var tableCache: TableCache
        /// nil when opened read-only.
        var wal: WALWriter?
        var lastSequence: SequenceNumber
        var report: RecoveryReport
        /// Read-only: the replayed WAL, per keyspace, to serve as the
        /// active memtables.
        var memtables: [UInt32: MemTable] = [:]
    }

    /// File numbers for the files one open writes.
    final class FileNumbers {
        private(set) var next: UInt64
        init(next: UInt64) { self.next = next }
        func allocate() -> UInt64 {
            defer { next += 1 }
            return next
        }
    }

    /// What the reading phase found.
    private struct ReadState {
        var base: VersionSet.Contents
        /// nil for a new database.
        var current: VersionSet.ReplayedCurrent?
        var numbers: FileNumbers
        var replay = WALReplay.Outcome()
        var report = RecoveryReport()
    }

    static func open(path: String, options: Options, backend: any IOBackend) throws -> Opened {
        try prepareDirectory(path, options: options, backend: backend)
        // A follower reads a directory its primary holds locked: it takes
        // no lock and writes nothing (docs/REPLICATION.md §Followers).
        let (lock, unlockedBecause) = options.isFollower ? (nil, nil)
            : try takeLock(path, shared: options.readOnly)
        var state = try read(path: path, options: options, backend: backend)
        let tableCache = TableCache(dbPath: path, backend: backend, capacity: options.maxOpenFiles,
                                    directReads: options.directReads)
        if options.readOnly, let current = state.current {
            state.report.drops = state.replay.drops.map { .init(source: $0.source, tail: $0.tail, lostPath: nil) }
            state.report.logs = state.replay.logs
            state.report.lostFiles = LostFiles.list(dbPath: path).count
            var contents = state.base
            contents.lastSequence = max(contents.lastSequence, state.replay.lastSequence)
            let versions = VersionSet.readOnly(contents, manifestNumber: current.manifestNumber, dbPath: path,
                                               backend: backend, recovery: current.recovery)
            tableCache.registerGlobalSequences(of: versions)
            return Opened(lock: lock, unlockedBecause: unlockedBecause, versions: versions, tableCache: tableCache,
                          wal: nil, lastSequence: contents.lastSequence, report: state.report,
                          memtables: state.replay.memtables)
        }
        let (versions, wal) = try write(&state, path: path, options: options, backend: backend)
        tableCache.registerGlobalSequences(of: versions)
        return Opened(lock: lock, unlockedBecause: nil, versions: versions, tableCache: tableCache, wal: wal,
                      lastSequence: versions.lastSequence, report: state.report)
    }

    /// What a follower's catch-up replays (FollowerCatchUp.swift): the
    /// primary's MANIFEST and live WALs as a read-only open reads them.
    struct FollowerState {
        var contents: VersionSet.Contents
        var manifestNumber: UInt64
        var memtables: [UInt32: MemTable]
        /// Where the replay stopped: the last log read and the end of its
        /// valid records (nil: no log).
        var logEnd: (number: UInt64, offset: Int)?
    }

    static func readForFollower(path: String, options: Options, backend: any IOBackend) throws -> FollowerState {
        let state = try read(path: path, options: options, backend: backend)
        guard let current = state.current else { throw DBError.databaseNotFound(path: path) }
        var contents = state.base
        contents.lastSequence = max(contents.lastSequence, state.replay.lastSequence)
        let logEnd = state.replay.logs.last.flatMap { log -> (number: UInt64, offset: Int)? in
            guard let (kind, number) = FileNames.parse(FileSystem.baseName(log.path)), kind == .log else { return nil }
            return (number, Int(log.validBytes))
        }
        return FollowerState(contents: contents, manifestNumber: current.manifestNumber,
                             memtables: state.replay.memtables, logEnd: logEnd)
    }

    /// Takes the LOCK: exclusive to write, shared to read only; the file
    /// is created when missing either way, as LevelDB's LOCK is by every
    /// open: a reader of a directory without one (a checkpoint, a copy)
    /// still keeps a writer from deleting files under it, and two readers
    /// still share. Where the file cannot be created — a read-only
    /// filesystem (EROFS), a directory this user may read but not write
    /// (EACCES, EPERM), a full disk (ENOSPC, EDQUOT) — a read-only open goes
    /// on without a lock and says why: no writer can work through a
    /// read-only mount or on a full disk (its open creates files before it
    /// deletes any), and refusing would make such a directory unreadable.
    /// (A writer through another, writable mount of it, or running as a
    /// user who may write there, is then not excluded — as with RocksDB's
    /// read-only mode, which never locks.) kvctl's `stats` and `verify`
    /// take it the same way, shared.
    package static func takeLock(_ path: String, shared: Bool) throws -> (FileLock?, unlockedBecause: String?) {
        let lockPath = FileNames.lock(path)
        do {
            return (try FileLock(path: lockPath, shared: shared, createIfMissing: true), nil)
        } catch where shared && [EROFS, EACCES, EPERM, ENOSPC, EDQUOT].contains(error.errno)
                        && !FileSystem.exists(lockPath) {
            let cause = switch error.errno {
            case EROFS: "read-only filesystem"
            case ENOSPC, EDQUOT: "no space"
            default: "permission denied"
            }
            return (nil, "\(lockPath) is missing and cannot be created (\(cause)); "
                + "a writer opening the database meanwhile is not excluded")
        } catch {
            if error.errno == EWOULDBLOCK { throw DBError.locked(path: path) }
            throw DBError.io(error)
        }
    }

    /// The reading phase: nothing but the L0 tables of the replayed
    /// memtables is written (and not even those when read-only).
    private static func read(path: String, options: Options, backend: any IOBackend) throws -> ReadState {
        let owned = try ioCall(path) { () throws(IOError) in try FileSystem.listDirectory(path) }
            .compactMap { FileNames.parse($0) }
        let currentPath = FileNames.current(path)
        guard try ioCall(currentPath, { () throws(IOError) in try FileSystem.kind(of: currentPath) }) != nil else {
            guard options.createIfMissing && !options.readOnly else { throw DBError.databaseNotFound(path: path) }
            try checkNothingWithoutCurrent(owned, dbPath: path, backend: backend)
            try MergeOperatorName.check(stored: nil, options: options, path: path)
            // MANIFEST-000001 and log 2, as ever for a new database; an
            // interrupted creation's leftovers are overwritten.
            return ReadState(base: .empty(nextFileNumber: 3), current: nil, numbers: FileNumbers(next: 2))
        }
        if options.errorIfExists && !options.readOnly { throw DBError.alreadyExists(path: path) }
        let current = try VersionSet.replayCurrent(dbPath: path, backend: backend, strict: options.paranoidChecks)
        // No number already on disk is handed out again.
        let numbers = FileNumbers(next: max(current.firstFreeFileNumber, (owned.map(\.number).max() ?? 0) + 1))
        var state = ReadState(base: VersionSet.Contents(current.replayed, nextFileNumber: numbers.next),
                              current: current, numbers: numbers)
        // Before the replay, whose flushes merge operands.
        try MergeOperatorName.check(stored: state.base.catalog[0]?.record.mergeOperatorName, options: options,
                                    path: path)
        if !options.readOnly {
            DroppedKeyspaces.retain(in: &state.base.catalog, droppedInSnapshot: current.replayed.droppedInSnapshot,
                                    logNumbersOnDisk: owned.filter { $0.kind == .log }.map(\.number))
        }
        state.report.manifestPath = current.recovery.manifestPath
        state.report.manifestRecords = current.recovery.recordCount
        for entry in state.base.catalog.entries {
            try checkTables(of: entry.files, present: owned, dbPath: path, manifest: current.recovery.manifestPath)
        }
        try checkLiveLog(state.base.logNumber, present: owned, dbPath: path, recovery: current.recovery,
                         strict: options.paranoidChecks)
        if let tail = current.recovery.droppedTail, tail.byteCount > 0 {
            state.replay.drops.append((current.recovery.manifestPath, tail))
        }
        let logs = owned.filter { $0.kind == .log && $0.number >= state.base.logNumber }.map(\.number).sorted()
        var keyspaces: [UInt32: (options: Options, logNumber: UInt64)] = [:]
        for entry in state.base.catalog.entries {
            keyspaces[entry.record.id] = (entry.record.options.applied(to: options), entry.logNumber ?? 0)
        }
        let replayer = WALReplay(options: options, dbPath: path, backend: backend,
                                 allocate: options.readOnly ? nil : numbers, keyspaces: keyspaces,
                                 maxKeyspaceId: state.base.catalog.maxKeyspaceId)
        do {
            try replayer.run(logs, into: &state.replay)
        } catch {
            removeFiles(tables: state.replay.tables, dbPath: path, backend: backend)
            throw error
        }
        return state
    }

    /// The writing phase: lost/, the new WAL, the new MANIFEST, CURRENT.
    private static func write(_ state: inout ReadState, path: String, options: Options,
                              backend: any IOBackend) throws -> (VersionSet, WALWriter) {
        var wal: WALWriter?
        var switched = false
        do {
            for drop in state.replay.drops {
                let lost = try LostFiles.save(drop.tail, of: drop.source, dbPath: path, backend: backend)
                state.report.drops.append(.init(source: drop.source, tail: drop.tail, lostPath: lost))
            }
            let walNumber = state.numbers.allocate()
            let log = try WALWriter.create(dbPath: path, number: walNumber, options: options, backend: backend)
            wal = log
            let manifest = state.current == nil ? 1 : state.numbers.allocate()
            // Every keyspace: its replayed tables, and the new WAL as its
            // log number (everything older is in tables now).
            var contents = state.base
            MergeOperatorName.record(options, in: &contents.catalog)
            for entry in state.base.catalog.entries {
                var edit = VersionEdit()
                edit.keyspaceId = entry.record.id
                for table in state.replay.tables where table.keyspace == entry.record.id {
                    edit.addFile(level: 0, table.file)
                }
                edit.keyspaceLogNumbers = [(entry.record.id, walNumber)]
                edit.lastSequence = state.replay.lastSequence
                contents = try contents.applying(edit)
            }
            contents.nextFileNumber = max(state.numbers.next, state.base.nextFileNumber)
            let versions = try VersionSet.install(contents, manifestNumber: manifest, dbPath: path, backend: backend,
                                                  recovery: state.current?.recovery, switched: &switched)
            state.report.logs = state.replay.logs
            state.report.tablesWritten = state.replay.tables.count
            state.report.lostFiles = LostFiles.list(dbPath: path).count
            return (versions, log)
        } catch {
            // Before the switch nothing names the new files: remove them so
            // a failed open leaves no trace. After it they are the database.
            if !switched {
                if let wal {
                    try? wal.close()
                    try? backend.removeFile(wal.path)
                }
                removeFiles(tables: state.replay.tables, dbPath: path, backend: backend)
            }
            throw error
        }
    }

    // MARK: - Checks of the reading phase

    /// Creates a missing database directory when allowed, and makes its
    /// entry durable: the parent directory of each directory created is
    /// fsynced, or a power loss could take the whole database with it.
    private static func prepareDirectory(_ path: String, options: Options, backend: any IOBackend) throws {
        switch try ioCall(path, { () throws(IOError) in try FileSystem.kind(of: path) }) {
        case .directory:
            return
        case .other:
            throw DBError.notADirectory(path: path)
        case nil:
            guard options.createIfMissing && !options.readOnly else { throw DBError.databaseNotFound(path: path) }
        }
        var missing: [String] = []
        var directory = path
        while !directory.isEmpty && directory != "/" && directory != "." && !FileSystem.exists(directory) {
            missing.append(directory)
            directory = FileSystem.parentDirectory(of: directory)
        }
        try ioCall(path) { () throws(IOError) in
            try backend.createDirectory(path)
            for created in missing { try backend.syncDirectory(FileSystem.parentDirectory(of: created)) }
        }
    }

    /// Every table the MANIFEST names must exist: a missing one would fail
    /// reads and compactions later (LevelDB and RocksDB refuse the same).
    private static func checkTables(of version: Version, present owned: [(kind: FileKind, number: UInt64)],
                                    dbPath: String, manifest: String) throws {
        let tables = Set(owned.filter { $0.kind == .table }.map(\.number))
        for (level, files) in version.files.enumerated() {
            for file in files where !tables.contains(file.number) {
                let table = FileNames.table(dbPath, file.number)
                throw DBError.corruption(path: table, offset: 0, reason:
                    "\(FileSystem.baseName(manifest)) lists table \(FileSystem.baseName(table)) at L\(level), "
                    + "but the file is missing")
            }
        }
    }

    /// The live WAL always exists while the MANIFEST names it (it is
    /// created, and its directory entry synced, before the edit that names
    /// it, and deleted only after an edit moves past it). Missing, the
    /// MANIFEST lost a committed edit — e.g. a damaged length field made
    /// its last record look torn — and opening would silently drop data.
    private static func checkLiveLog(_ logNumber: UInt64, present owned: [(kind: FileKind, number: UInt64)],
                                     dbPath: String, recovery: VersionSet.Recovery, strict: Bool) throws {
        guard strict, logNumber > 0, !owned.contains(where: { $0.kind == .log && $0.number == logNumber }) else { return }
        throw DBError.corruption(
            path: recovery.manifestPath, offset: recovery.droppedTailOffset ?? 0,
            reason: "the manifest names WAL \(FileNames.padded(logNumber)).log as live but it is missing; "
                + "the manifest lost an edit")
    }

    /// CURRENT is missing. A creation interrupted by a crash leaves at most
    /// MANIFEST-000001, an empty 000002.log and CURRENT's temp file — no
    /// write was ever acknowledged, since `DB.init` had not returned — and
    /// starts over. Anything else is a database that lost CURRENT: starting
    /// an empty one over it would delete its files, so the open is refused
    /// with the first such file named.
    private static func checkNothingWithoutCurrent(_ owned: [(kind: FileKind, number: UInt64)], dbPath: String,
                                                   backend: any IOBackend) throws {
        for file in owned.sorted(by: { $0.number < $1.number }) {
            let name: String
            switch file.kind {
            case .current, .lock, .temp:
                continue
            case .manifest:
                if file.number == 1 { continue }
                name = FileSystem.baseName(FileNames.manifest(dbPath, file.number))
            case .log:
                let log = FileNames.log(dbPath, file.number)
                if file.number == 2, try LogReader(path: log, backend: backend).holdsOnlyZeros() { continue }
                name = FileSystem.baseName(log)
            case .table:
                name = FileSystem.baseName(FileNames.table(dbPath, file.number))
            }
            throw DBError.corruption(path: FileNames.current(dbPath), offset: 0, reason:
                "CURRENT is missing but \(name) exists: this is a database whose CURRENT was lost, not an empty "
                + "directory. Restore CURRENT (the name of its newest MANIFEST-NNNNNN and a newline) instead of "
                + "creating a new database over it")
        }
    }

    private static func removeFiles(tables: [(keyspace: UInt32, file: FileMetaData)], dbPath: String,
                                    backend: any IOBackend) {
        for table in tables { try? backend.removeFile(FileNames.table(dbPath, table.file.number)) }
    }
}
