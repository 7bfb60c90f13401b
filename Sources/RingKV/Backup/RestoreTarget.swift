import RingIO

/// What `DB.restore` may put its copy at, and what `overwrite` may remove
/// there (docs/REPLICATION.md §Backups). Checked before anything is
/// written: the target path, resolved (symbolic links, "..") → never the
/// backup directory, inside it or holding it → if it exists and
/// `overwrite`: a RingKV database directory (CURRENT, and only names the
/// engine writes) whose LOCK is taken here, or an empty directory →
/// removed just before the rename. Anything else is refused and nothing
/// is removed: `overwrite` once ran removeTree on whatever directory it
/// was given — a home directory, the backup directory itself.
enum RestoreTarget {
    /// Refuses a target that is the backup directory `backups`, lies
    /// inside it, or holds it (an overwrite would remove the backups).
    static func checkApart(_ target: String, from backups: String) throws(DBError) {
        let resolvedTarget: String
        let resolvedBackups: String
        do {
            resolvedTarget = try FileSystem.resolvedPath(target)
            resolvedBackups = try FileSystem.resolvedPath(backups)
        } catch { throw DBError.io(error) }
        if resolvedTarget == resolvedBackups || resolvedTarget.hasPrefix(resolvedBackups + "/") {
            throw DBError.invalidArgument("restore target \(target) is the backup directory \(backups) or inside it")
        }
        if resolvedBackups.hasPrefix(resolvedTarget == "/" ? "/" : resolvedTarget + "/") {
            throw DBError.invalidArgument("restore target \(target) holds the backup directory \(backups)")
        }
    }

    /// For an existing `target` to be replaced: its LOCK, taken (an open
    /// database there: `DBError.locked`), when it is a RingKV database
    /// directory or an empty one (a LOCK file alone counts as empty: a
    /// failed restore's lock leaves one). nil when `target` is missing.
    /// A symbolic link, a file, or a directory holding anything else is
    /// refused before any file is made or removed in it.
    static func lockForOverwrite(_ target: String) throws(DBError) -> FileLock? {
        if FileSystem.isSymbolicLink(target) {
            throw DBError.invalidArgument("restore target \(target) is a symbolic link; name the directory itself")
        }
        let kind: FileSystem.Kind?
        do { kind = try FileSystem.kind(of: target) } catch { throw DBError.io(error) }
        guard let kind else { return nil }
        guard kind == .directory else { throw DBError.notADirectory(path: target) }
        let names: [String]
        do { names = try FileSystem.listDirectory(target) } catch { throw DBError.io(error) }
        let empty = names.allSatisfy { $0 == "LOCK" }
        if !empty {
            guard names.contains("CURRENT") else {
                throw DBError.invalidArgument("restore target \(target) is neither a RingKV database (no CURRENT) "
                    + "nor an empty directory; overwrite replaces only those, nothing was removed")
            }
            let lost = LostFiles.directory(target)
            if let other = names.sorted().first(where: { name in
                name == LostFiles.directoryName
                    ? FileSystem.isSymbolicLink(lost) || !FileSystem.isDirectory(lost)
                    : FileNames.parse(name) == nil
            }) {
                throw DBError.invalidArgument("restore target \(target) holds \(other), which is no RingKV database "
                    + "file; overwrite replaces only a database or an empty directory, nothing was removed")
            }
        }
        do {
            return try DatabaseRecovery.takeLock(target, shared: false).0
        } catch let error as DBError {
            throw error
        } catch {
            throw DBError.internalError("takeLock threw \(error)")
        }
    }
}
