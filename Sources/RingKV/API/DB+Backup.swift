import Glibc
import RingIO

/// One backup in a backup directory.
public struct BackupInfo: Sendable, Equatable {
    /// Its id in the directory (1, 2, … in creation order).
    public let id: UInt64
    /// The restored database's `latestSequence`.
    public let sequence: UInt64
    /// Bytes this backup copied (tables new to the directory and its own
    /// MANIFEST, CURRENT and WAL files).
    public let bytesCopied: UInt64
    /// Bytes of every file the backup names (shared tables included).
    public let totalBytes: UInt64
}

/// Incremental backups (docs/REPLICATION.md §Backups; the directory's
/// layout: Backup/BackupDirectory.swift and docs/FORMAT.md §Backups).
extension DB {
    /// Backs the database up into the backup directory `directory`
    /// (created when missing), copying only tables it does not hold yet.
    /// The backup holds every write acknowledged before this call (a
    /// checkpoint is its consistent point); writes continue meanwhile.
    /// A backup directory belongs to one database. While it runs, another
    /// backup or a deletion in `directory` is refused (`DBError.io`,
    /// EWOULDBLOCK).
    public func backup(to directory: String) throws -> BackupInfo {
        let dir = BackupDirectory(path: directory, backend: impl.backend)
        try dir.prepare()
        // No deletion (nor another backup) of this directory meanwhile.
        let directoryLock = try BackupDirectoryLock.take(directory)
        defer { directoryLock.release() }
        let last = try dir.ids().last ?? 0
        guard last < UInt64.max else {
            throw DBError.backupCorrupted(path: dir.metaPath + "/\(last)", reason: "no backup id is left after it")
        }
        let id = last + 1
        // Beside the database: the checkpoint hard-links its tables. One
        // name per call: two backups of this database into two directories
        // may run at once, with the same id (each removed the other's).
        // A crashed backup's staging directory is removed first.
        BackupStaging.removeStale(beside: impl.path)
        let staging = BackupStaging.begin(dbPath: impl.path, id: id)
        defer { BackupStaging.finish(staging) }
        if FileSystem.exists(staging) { try FileSystem.removeTree(staging) }
        try checkpoint(to: staging)
        var readOnly = Options()
        readOnly.readOnly = true
        let point = try DB(path: staging, options: readOnly)
        let sequence = point.latestSequence
        try point.close()

        // What the directory already holds: "<number>-<size>" -> CRC32C -> stored name.
        var held: [String: [UInt32: String]] = [:]
        for name in try FileSystem.listDirectory(dir.sharedPath) where name.hasSuffix(".sst") {
            let parts = name.dropLast(4).split(separator: "-")
            if parts.count == 3, let crc = UInt32(parts[2], radix: 16) {
                held["\(parts[0])-\(parts[1])", default: [:]][crc] = name
            }
        }
        var entries: [BackupMeta.Entry] = []
        var copied: UInt64 = 0
        let privateDir = dir.privatePath(id)
        try FileSystem.createDirectory(privateDir)
        for name in try FileSystem.listDirectory(staging).sorted() {
            guard let (kind, number) = FileNames.parse(name), kind != .lock, kind != .temp else { continue }
            let source = staging + "/" + name
            if kind == .table {
                let size = try FileSystem.fileSize(source)
                let key = "\(FileNames.padded(number))-\(size)"
                if let stored = held[key] {
                    // Number and size do not name a table's contents: a
                    // database restored from this directory numbers its new
                    // tables as the original did. Reused only when the
                    // source's CRC32C matches (read, not copied).
                    let (_, crc) = try BackupFileCopy.checksum(source, backend: impl.backend)
                    if let match = stored[crc] {
                        entries.append(.init(isTable: true, name: name, storedPath: "shared/" + match, sizeBytes: size,
                                             crc: crc))
                        continue
                    }
                }
                let temp = dir.sharedPath + "/" + key + ".copying"
                let (bytes, crc) = try BackupFileCopy.copy(source, to: temp, backend: impl.backend)
                let stored = key + "-" + String(crc, radix: 16) + ".sst"
                try FileSystem.rename(temp, to: dir.sharedPath + "/" + stored)
                held[key, default: [:]][crc] = stored
                copied += bytes
                entries.append(.init(isTable: true, name: name, storedPath: "shared/" + stored, sizeBytes: bytes, crc: crc))
            } else {
                let (bytes, crc) = try BackupFileCopy.copy(source, to: privateDir + "/" + name, backend: impl.backend)
                copied += bytes
                entries.append(.init(isTable: false, name: name, storedPath: "private/\(id)/" + name,
                                     sizeBytes: bytes, crc: crc))
            }
        }
        try impl.backend.syncDirectory(dir.sharedPath)
        try impl.backend.syncDirectory(privateDir)
        let meta = BackupMeta(id: id, sequence: sequence, bytesCopied: copied, entries: entries)
        try BackupFileCopy.writeDurably(meta.encoded(), to: dir.metaPath + "/\(id)", backend: impl.backend)
        return BackupInfo(meta)
    }

    /// The backups in `directory`, oldest first. A `directory` that is no
    /// backup directory (missing, or without `meta/`) throws
    /// `DBError.notADirectory`.
    public static func backups(in directory: String) throws -> [BackupInfo] {
        let dir = BackupDirectory(path: directory, backend: IOBackends.makeDefault())
        return try dir.ids().map { BackupInfo(try dir.meta($0)) }
    }

    /// Re-reads every file of backup `id`; throws
    /// `DBError.backupCorrupted` naming a missing or damaged one.
    public static func verifyBackup(in directory: String, id: UInt64) throws {
        let dir = BackupDirectory(path: directory, backend: IOBackends.makeDefault())
        try dir.verify(try dir.meta(id))
    }

    /// Deletes backup `id` and the shared tables no other backup names.
    /// Refused while a backup is made in `directory` (`DBError.io`,
    /// EWOULDBLOCK): that backup may reuse those tables.
    public static func deleteBackup(in directory: String, id: UInt64) throws {
        try BackupDirectory(path: directory, backend: IOBackends.makeDefault()).delete(id)
    }

    /// Restores backup `id` of `directory` as a new database at `target`,
    /// after verifying every file (a damaged one: `DBError.backupCorrupted`
    /// naming it, nothing written). An existing `target` is refused
    /// (`DBError.alreadyExists`) unless `overwrite`, which replaces a
    /// RingKV database directory or an empty directory — but never a
    /// database open there (`DBError.locked`); any other directory is
    /// `DBError.invalidArgument`, a file `DBError.notADirectory`, nothing
    /// removed. A `target` that is the backup directory, inside it or
    /// holding it is `DBError.invalidArgument`.
    /// While a restore to `target` runs (here or in another process),
    /// another is refused: `DBError.locked` naming `TARGET.restoring`.
    /// The restored database's `latestSequence` is the backup's `sequence`.
    public static func restore(from directory: String, id: UInt64, to target: String,
                               overwrite: Bool = false) throws {
        try restore(from: directory, id: id, to: target, overwrite: overwrite, backend: IOBackends.makeDefault())
    }

    /// `restore` through `backend` (a test's wraps the default one). One
    /// restore to `target` at a time (`RestoreStaging`); a failure before
    /// the rename (a full disk, a file changed since the verify) removes
    /// `TARGET.restoring`: no half-made copy is left.
    static func restore(from directory: String, id: UInt64, to target: String, overwrite: Bool,
                        backend: any IOBackend) throws {
        // "restored/" is the directory "restored": its staging directory
        // goes beside it ("restored.restoring"), never inside it.
        let target = FileSystem.withoutTrailingSlashes(target)
        let dir = BackupDirectory(path: directory, backend: backend)
        let meta = try dir.meta(id)
        try RestoreTarget.checkApart(target, from: directory)
        if FileSystem.exists(target) && !overwrite { throw DBError.alreadyExists(path: target) }
        let (staging, stagingLock) = try RestoreStaging.take(for: target)
        defer { stagingLock.release() }
        do {
            // Again under the staging lock: a restore that held it may
            // have put a database there meanwhile.
            if FileSystem.exists(target) && !overwrite { throw DBError.alreadyExists(path: target) }
            // Only a database or an empty directory is replaced. A
            // database open at `target` (here or in another process) holds
            // its LOCK: `DBError.locked` before anything is removed, and no
            // open takes it until the restored one is in place.
            let targetLock = try RestoreTarget.lockForOverwrite(target)
            defer { targetLock?.release() }
            try dir.verify(meta)
            for entry in meta.entries {
                let source = directory + "/" + entry.storedPath
                let (size, crc) = try BackupFileCopy.copy(source, to: staging + "/" + entry.name, backend: backend)
                guard size == entry.sizeBytes, crc == entry.crc else {
                    throw DBError.backupCorrupted(path: source, reason: "changed while restored")
                }
            }
            try backend.syncDirectory(staging)
            if FileSystem.exists(target) { try FileSystem.removeTree(target) }
            try FileSystem.rename(staging, to: target)
        } catch {
            try? FileSystem.removeTree(staging)
            throw error
        }
        try backend.syncDirectory(FileSystem.parentDirectory(of: target))
    }
}

extension BackupInfo {
    init(_ meta: BackupMeta) {
        // Sizes read from a meta file: their total saturates (a crafted
        // or damaged one trapped the listing).
        let total = meta.entries.reduce(UInt64(0)) { sum, entry in
            let (next, overflow) = sum.addingReportingOverflow(entry.sizeBytes)
            return overflow ? .max : next
        }
        self.init(id: meta.id, sequence: meta.sequence, bytesCopied: meta.bytesCopied, totalBytes: total)
    }
}
