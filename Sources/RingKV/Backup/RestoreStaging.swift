#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// `TARGET.restoring`, where `DB.restore` copies a backup's files before it
/// renames the directory to TARGET (docs/REPLICATION.md §Backups).
///
/// An exclusive flock on the directory itself (as `BackupDirectoryLock`
/// takes one on a backup directory), held from before the restore looks
/// at TARGET until after the rename, lets one restore to a target run at a
/// time, in one process or several: a second one gets `DBError.locked`
/// naming this directory and changes nothing. Unlocked, two restores to
/// one target each removed or wrote into the other's copies, and one could
/// rename a half-filled directory to TARGET and report success.
enum RestoreStaging {
    /// The staging directory of `target`, created (or a crash's, reused),
    /// locked and emptied.
    static func take(for target: String) throws(DBError) -> (path: String, lock: FileLock) {
        let path = target + ".restoring"
        var attempts = 0
        var lock: FileLock
        while true {
            attempts += 1
            do { try FileSystem.createDirectory(path) } catch { throw DBError.io(error) }
            do {
                lock = try FileLock(path: path)
            } catch where error.errno == EWOULDBLOCK {
                throw DBError.locked(path: path)
            } catch {
                throw DBError.io(error)
            }
            // The restore that held it may have renamed it to TARGET while
            // this one waited: then the lock is on TARGET, not on `path` —
            // or on an empty file the lock's open made there once it was
            // gone (removed here; a directory is made next round).
            let lockedPath = lock.isStill(at: path)
            if lockedPath && FileSystem.isDirectory(path) { break }
            if lockedPath { try? FileSystem.remove(path) }
            lock.release()
            if attempts >= 3 { throw DBError.locked(path: path) }
        }
        do {
            // Emptied, not removed: the lock is on this directory.
            for name in try FileSystem.listDirectory(path) { try FileSystem.removeTree(path + "/" + name) }
        } catch {
            lock.release()
            throw DBError.io(error)
        }
        return (path, lock)
    }
}
