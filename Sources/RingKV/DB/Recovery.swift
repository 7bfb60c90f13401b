import Glibc
import RingIO

/// Opening a database directory: lock, manifest, WAL replay, fresh log.
///
/// Replayed WAL contents are written to L0 tables and installed together
/// with the new log number in one manifest edit, so after open every write
/// lives in a table or in the new (empty) log, and old logs can go.
enum DatabaseRecovery {
    struct Opened {
        var lock: FileLock
        var versions: VersionSet
        var tableCache: TableCache
        var wal: WALWriter
        var lastSequence: SequenceNumber
        /// WAL files and write batches replayed (for the open log event).
        var logsReplayed = 0
        var batchesReplayed = 0
    }

    /// `events` receives what recovery has to report (drops, at warning).
    static func open(path: String, options: Options, backend: any IOBackend,
                     events: EngineEvents) throws -> Opened {
        switch try ioCall(path, { () throws(IOError) in try FileSystem.kind(of: path) }) {
        case .directory:
            break
        case .other:
            throw DBError.invalidArgument("\(path) exists and is not a directory")
        case nil:
            guard options.createIfMissing else { throw DBError.notFound(path: path) }
            try ioCall(path) { () throws(IOError) in try FileSystem.createDirectory(path) }
        }
        let lock: FileLock
        do {
            lock = try FileLock(path: FileNames.lock(path))
        } catch {
            if error.errno == EWOULDBLOCK { throw DBError.locked(path: path) }
            throw DBError.io(error)
        }
        let versions: VersionSet
        let current = FileNames.current(path)
        if try ioCall(current, { () throws(IOError) in try FileSystem.kind(of: current) }) != nil {
            if options.errorIfExists { throw DBError.alreadyExists(path: path) }
            versions = try VersionSet.recover(dbPath: path, backend: backend, strict: options.paranoidChecks)
        } else {
            guard options.createIfMissing else { throw DBError.notFound(path: path) }
            versions = try VersionSet.create(dbPath: path, backend: backend)
        }
        // The live WAL always exists while the manifest names it (it is
        // created before the edit that names it and deleted only after an
        // edit moves past it). Missing, the manifest lost a committed edit —
        // e.g. a damaged length field made its last record look torn — and
        // opening would silently drop data.
        let logNumber = versions.logNumber
        if options.paranoidChecks && logNumber > 0 && !FileSystem.exists(FileNames.log(path, logNumber)) {
            throw DBError.corruption(
                path: versions.recovery?.manifestPath ?? FileNames.current(path),
                offset: versions.recovery?.droppedTailOffset ?? 0,
                reason: "the manifest names WAL \(FileNames.padded(logNumber)).log as live but it is missing; "
                    + "the manifest lost an edit")
        }
        if let recovery = versions.recovery, let offset = recovery.droppedTailOffset {
            let size = (try? FileSystem.fileSize(recovery.manifestPath)) ?? offset
            events.recoveryDropped(file: recovery.manifestPath, offset: offset, bytes: size - min(size, offset),
                                   reason: recovery.droppedTailReason ?? "torn tail", keptAt: nil)
        }
        let tableCache = TableCache(dbPath: path, backend: backend, capacity: options.maxOpenFiles,
                                    directReads: options.directReads)

        var edit = VersionEdit()
        var lastSequence = versions.lastSequence
        let owned = try ioCall(path) { () throws(IOError) in try FileSystem.listDirectory(path) }
            .compactMap { FileNames.parse($0) }
        // No number already on disk may be handed out again.
        for file in owned { versions.markFileNumberUsed(file.number) }
        let logs = owned.filter { $0.kind == .log && $0.number >= versions.logNumber }.map(\.number).sorted()
        var memtable = options.makeMemTable()
        var replayedSequence: SequenceNumber = 0
        var batchesReplayed = 0
        for number in logs {
            let logPath = FileNames.log(path, number)
            let reader = try LogReader(path: logPath, backend: backend)
            let outcome = try reader.readAll(strict: options.paranoidChecks)
            if let (offset, reason) = outcome.tornTail {
                events.recoveryDropped(file: logPath, offset: UInt64(offset),
                                       bytes: UInt64(reader.data.count - offset), reason: reason, keptAt: nil)
            }
            for payload in outcome.payloads {
                let last = try payload.withUnsafeBytes {
                    try MemTableInserter.applyRecovered($0, to: memtable, path: logPath, after: replayedSequence)
                }
                replayedSequence = last
                batchesReplayed += 1
                lastSequence = max(lastSequence, last)
                if memtable.approximateMemoryUsageBytes >= options.memtableSizeBytes {
                    try flushRecovered(memtable, into: &edit, versions: versions, path: path,
                                       backend: backend, options: options)
                    memtable = options.makeMemTable()
                }
            }
        }
        try flushRecovered(memtable, into: &edit, versions: versions, path: path, backend: backend, options: options)
        let walNumber = versions.newFileNumber()
        let wal = try WALWriter.create(dbPath: path, number: walNumber, options: options, backend: backend)
        edit.logNumber = walNumber
        edit.lastSequence = lastSequence
        try versions.logAndApply(edit)
        return Opened(lock: lock, versions: versions, tableCache: tableCache, wal: wal, lastSequence: lastSequence,
                      logsReplayed: logs.count, batchesReplayed: batchesReplayed)
    }

    private static func flushRecovered(_ memtable: MemTable, into edit: inout VersionEdit, versions: VersionSet,
                                       path: String, backend: any IOBackend, options: Options) throws {
        guard memtable.entryCount > 0 else { return }
        let number = versions.newFileNumber()
        if let meta = try TableFiles.build(from: memtable.makeIterator(), number: number, dbPath: path,
                                           backend: backend, options: options) {
            edit.addFile(level: 0, meta)
        }
    }
}
