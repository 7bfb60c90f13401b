#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// An exclusive advisory lock (flock) on a file, held until `release()`
/// or deinit. A second process — or a second open in this one — gets a
/// clear "locked" error instead of sharing the database.
public final class FileLock: Sendable {
    public let path: String
    private let file: File

    /// Takes the lock without waiting; throws EWOULDBLOCK when held.
    public init(path: String) throws(IOError) {
        self.path = path
        file = try File.open(path, [.readWrite, .create])
        if flock(file.fd, LOCK_EX | LOCK_NB) != 0 {
            let code = rk_errno()
            try? file.close()
            throw IOError(operation: "flock", errno: code, path: path,
                          detail: code == EWOULDBLOCK ? "the database is locked by another process or handle" : nil)
        }
    }

    /// Releases the lock (closing the descriptor drops it); idempotent.
    public func release() { try? file.close() }

    deinit { release() }
}
