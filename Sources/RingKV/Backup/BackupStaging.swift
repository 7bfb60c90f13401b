#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// The checkpoint `DB.backup(to:)` stages beside the database before it
/// copies files into the backup directory (docs/REPLICATION.md §Backups):
/// `PATH.backup-PID-ID-N` — the process, the backup id, and N numbering
/// the backups of this process, so two at once never share a name.
///
/// A crash (or kill) during a backup leaves its staging directory: hard
/// links to tables and copies of the small files, which nothing reads.
/// Each backup first removes those whose owner is gone: a name of another
/// process that no longer exists (kill(pid, 0): ESRCH), or one of this
/// process that no backup running here uses (a dead process had the same
/// pid). A live process's (EPERM included) is never touched, nor a
/// symbolic link. Names of earlier builds (`PATH.backup-PID-ID`) count as
/// well; any other name is left alone.
enum BackupStaging {
    /// Staging names in use by backups running in this process.
    private static let inUse = Locked<Set<String>>([])
    private static let counter = Locked<UInt64>(0)

    /// A fresh staging path for backup `id` of the database at `dbPath`,
    /// marked in use until `finish`.
    static func begin(dbPath: String, id: UInt64) -> String {
        let n = counter.withLock { value in
            value += 1
            return value
        }
        let path = dbPath + ".backup-\(getpid())-\(id)-\(n)"
        inUse.withLock { _ = $0.insert(path) }
        return path
    }

    /// Removes `path` (best effort) and drops its in-use mark.
    static func finish(_ path: String) {
        try? FileSystem.removeTree(path)
        inUse.withLock { _ = $0.remove(path) }
    }

    /// Removes the staging directories beside `dbPath` that a crashed or
    /// killed backup left (see the type's comment); returns their paths.
    /// Best effort: one that cannot be removed is left for the next backup.
    @discardableResult
    static func removeStale(beside dbPath: String) -> [String] {
        let parent = FileSystem.parentDirectory(of: dbPath)
        let prefix = FileSystem.baseName(dbPath) + ".backup-"
        guard let names = try? FileSystem.listDirectory(parent) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ UInt64($0) != nil }),
                  let pid = Int32(parts[0]), pid > 0 else { continue }
            let path = parent + "/" + name
            guard !FileSystem.isSymbolicLink(path), FileSystem.isDirectory(path) else { continue }
            if pid == getpid() {
                if inUse.withLock({ $0.contains(path) }) { continue }
            } else if kill(pid, 0) == 0 || errno != ESRCH {
                continue
            }
            if (try? FileSystem.removeTree(path)) != nil { removed.append(path) }
        }
        return removed
    }
}
