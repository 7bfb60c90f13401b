#if canImport(Glibc)
import Glibc
#endif
import CRingSupport
import RingIO

/// An exclusive flock on a backup directory itself (no file is added to
/// it), held while a backup is made (`DB.backup(to:)`) or deleted
/// (`DB.deleteBackup`): a deletion removes the shared tables no finished
/// backup names, and a backup in progress names the tables it reuses or
/// copies only in its meta file, written last — so the two must not
/// overlap, in one process or several. Taken without waiting: a second
/// one gets `DBError.io` (EWOULDBLOCK) naming the directory. Released on
/// `release()` or deinit.
final class BackupDirectoryLock {
    private var fd: Int32

    init(_ path: String) throws(DBError) {
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DBError.io(IOError(operation: "open", errno: rk_errno(), path: path)) }
        // As `FileLock`: a child process spawned meanwhile holds a copy of
        // the descriptor until its exec; retry for up to ~200 ms.
        var attempts = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = rk_errno()
            attempts += 1
            if (code == EWOULDBLOCK || code == EINTR) && attempts < 40 {
                usleep(5000)
                continue
            }
            close(fd)
            fd = -1
            throw DBError.io(IOError(operation: "flock", errno: code, path: path,
                                     detail: code == EWOULDBLOCK
                                         ? "a backup is being made or deleted in this backup directory" : nil))
        }
    }

    func release() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { release() }
}
