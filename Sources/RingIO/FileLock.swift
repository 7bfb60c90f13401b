#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// An advisory lock (flock) on a file, held until `release()` or deinit.
/// Exclusive for a database opened for writing: a second process — or a
/// second open in this one — gets a clear "locked" error instead of
/// sharing the database. Shared for read-only opens: any number of them
/// at once, none while a writer holds it (and no writer while one does).
public final class FileLock: Sendable {
    public let path: String
    public let isShared: Bool
    private let file: File

    /// Takes the lock without waiting; throws EWOULDBLOCK when held in a
    /// conflicting mode. Exclusive: creates the file if needed. Shared:
    /// opens the file read-only; when it is missing, creates it empty if
    /// `createIfMissing`, else throws ENOENT.
    ///
    /// flock needs no write access, so an exclusive lock on a file this
    /// user may only read (created by a reader running as another user),
    /// or on a directory, is taken through a read-only descriptor.
    public init(path: String, shared: Bool = false, createIfMissing: Bool = false) throws(IOError) {
        self.path = path
        isShared = shared
        file = try FileLock.openFile(path, shared: shared, createIfMissing: createIfMissing)
        // A child process spawned by this one (posix_spawn: clone, then
        // exec) holds a copy of every descriptor until its exec closes the
        // O_CLOEXEC ones, and with it this flock. So a lock released just
        // before a spawn can look held for a moment: retry for up to
        // ~200 ms before calling the database locked. Never waits longer.
        var attempts = 0
        while flock(file.fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
            let code = rk_errno()
            attempts += 1
            if (code == EWOULDBLOCK || code == EINTR) && attempts < 40 {
                usleep(5000)
                continue
            }
            try? file.close()
            throw IOError(operation: "flock", errno: code, path: path,
                          detail: code == EWOULDBLOCK ? "the database is locked by another process or handle" : nil)
        }
    }

    private static func openFile(_ path: String, shared: Bool, createIfMissing: Bool) throws(IOError) -> File {
        if shared {
            do {
                return try File.open(path, .read)
            } catch where error.errno == ENOENT && createIfMissing {
                return try File.open(path, [.read, .create])
            }
        }
        do {
            return try File.open(path, [.readWrite, .create])
        } catch where (error.errno == EACCES || error.errno == EISDIR) && FileSystem.exists(path) {
            return try File.open(path, .read)
        }
    }

    /// Whether `path` still names the file (or directory) this lock is on:
    /// false once it was renamed away or replaced, when a lock on what
    /// `path` names now must be taken anew.
    public func isStill(at path: String) -> Bool {
        var held = stat()
        var named = stat()
        guard fstat(file.fd, &held) == 0, stat(path, &named) == 0 else { return false }
        return held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }

    /// Releases the lock (closing the descriptor drops it); idempotent.
    public func release() { try? file.close() }

    deinit { release() }
}
