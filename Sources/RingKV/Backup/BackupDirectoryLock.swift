#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// An exclusive flock on a backup directory itself (no file is added to
/// it), held while a backup is made (`DB.backup(to:)`) or deleted
/// (`DB.deleteBackup`): a deletion removes the shared tables no finished
/// backup names, and a backup in progress names the tables it reuses or
/// copies only in its meta file, written last — so the two must not
/// overlap, in one process or several. A `FileLock` on the directory
/// (its retry across a child's spawn included): a second one gets
/// `DBError.io` (EWOULDBLOCK) naming the directory. Released on
/// `release()` or deinit.
enum BackupDirectoryLock {
    static func take(_ path: String) throws(DBError) -> FileLock {
        do {
            return try FileLock(path: path)
        } catch where error.errno == EWOULDBLOCK {
            throw DBError.io(IOError(operation: "flock", errno: EWOULDBLOCK, path: path,
                                     detail: "a backup is being made or deleted in this backup directory"))
        } catch {
            throw DBError.io(error)
        }
    }
}
