import Glibc
import RingIO

/// A backup directory (docs/REPLICATION.md §Backups, docs/FORMAT.md
/// §Backups):
///
///     shared/<number>-<size>-<crc32c>.sst   table files, each stored once,
///                                           shared by every backup naming it
///     private/<id>/                         one backup's MANIFEST, CURRENT, WALs
///     meta/<id>                             one backup's meta file (BackupMeta)
///
/// How a backup flows (`create`): the database makes a checkpoint beside
/// itself (hard links, so no table is copied there); tables not yet in
/// `shared/` (matched by table number, size and CRC32C: the source is
/// read when number and size match, since a database restored from the
/// directory numbers its new tables as the original did) are copied in
/// with their CRC32C, the other files into `private/<id>/`,
/// and the meta file is written last: the commit point. The checkpoint
/// is then removed.
struct BackupDirectory {
    let path: String
    let backend: any IOBackend

    var sharedPath: String { path + "/shared" }
    var metaPath: String { path + "/meta" }
    func privatePath(_ id: UInt64) -> String { path + "/private/\(id)" }

    func prepare() throws(DBError) {
        for dir in [path, sharedPath, path + "/private", metaPath] where !FileSystem.isDirectory(dir) {
            do { try FileSystem.createDirectory(dir) } catch { throw DBError.io(error) }
        }
    }

    /// The ids of the backups whose meta file exists, ascending. A path
    /// that is no backup directory (missing, mistyped, a database's) is
    /// `DBError.notADirectory` naming it (or its `meta/`), not an empty list.
    func ids() throws(DBError) -> [UInt64] {
        guard FileSystem.isDirectory(metaPath) else {
            throw DBError.notADirectory(path: FileSystem.isDirectory(path) ? metaPath : path)
        }
        do {
            // Only the names `create` writes ("7", never "07" or "+7": a
            // copy under such a name listed backup 7 twice, and outlived
            // its deletion as a backup that is not found).
            return try FileSystem.listDirectory(metaPath).compactMap { name in
                UInt64(name).flatMap { String($0) == name ? $0 : nil }
            }.sorted()
        } catch {
            throw DBError.io(error)
        }
    }

    func meta(_ id: UInt64) throws(DBError) -> BackupMeta {
        let file = metaPath + "/\(id)"
        guard FileSystem.exists(file) else { throw DBError.backupNotFound(path: path, id: id) }
        let bytes: [UInt8]
        do { bytes = try Self.readAll(file) } catch { throw DBError.io(error) }
        let meta = try BackupMeta.parse(bytes, path: file)
        guard meta.id == id else { throw DBError.backupCorrupted(path: file, reason: "holds backup \(meta.id)") }
        return meta
    }

    /// Re-reads every file backup `id` names; throws
    /// `DBError.backupCorrupted` naming the first missing, short or
    /// damaged one.
    func verify(_ meta: BackupMeta) throws(DBError) {
        for entry in meta.entries {
            let file = path + "/" + entry.storedPath
            guard FileSystem.exists(file) else { throw DBError.backupCorrupted(path: file, reason: "missing") }
            let (size, crc) = try BackupFileCopy.checksum(file, backend: backend)
            if size != entry.sizeBytes {
                throw DBError.backupCorrupted(path: file, reason: "\(size) bytes, the meta file says \(entry.sizeBytes)")
            }
            if crc != entry.crc {
                throw DBError.backupCorrupted(path: file, reason: "checksum mismatch (crc32c \(String(crc, radix: 16)), "
                                              + "expected \(String(entry.crc, radix: 16)))")
            }
        }
    }

    /// Removes backup `id`: its meta file first (the backup is gone from
    /// then on), its private files, then shared tables no other backup names.
    func delete(_ id: UInt64) throws(DBError) {
        _ = try meta(id)
        let directoryLock = try BackupDirectoryLock.take(path)
        defer { directoryLock.release() }
        do {
            try FileSystem.remove(metaPath + "/\(id)")
            try backend.syncDirectory(metaPath)
            if FileSystem.isDirectory(privatePath(id)) { try FileSystem.removeTree(privatePath(id)) }
        } catch {
            throw DBError.io(error)
        }
        var referenced: Set<String> = []
        for other in try ids() {
            for entry in try meta(other).entries where entry.isTable { referenced.insert(entry.storedPath) }
        }
        let names: [String]
        do { names = try FileSystem.listDirectory(sharedPath) } catch { throw DBError.io(error) }
        for name in names where !referenced.contains("shared/" + name) {
            try? FileSystem.remove(sharedPath + "/" + name)
        }
    }

    static func readAll(_ file: String) throws(IOError) -> [UInt8] {
        let size = Int(try FileSystem.fileSize(file))
        var bytes = [UInt8](repeating: 0, count: size)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError(operation: "open", errno: errno, path: file, offset: 0, detail: "") }
        defer { close(fd) }
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, size - done, off_t(done)) }
            if n <= 0 {
                throw IOError(operation: "read", errno: n < 0 ? errno : EIO, path: file, offset: UInt64(done),
                              detail: "short read")
            }
            done += n
        }
        return bytes
    }
}
