/// Followers: a read-only view of a database another process writes,
/// refreshed on demand (docs/REPLICATION.md §Followers; the mechanics in
/// FollowerCatchUp.swift).
extension DB {
    /// Opens `primaryPath`, a database a live primary may be writing in
    /// another process, read-only and without taking its LOCK. Sees what
    /// the primary had written to its files at open (its acknowledged
    /// writes; after a power loss only what was synced); `catchUp()`
    /// moves the view forward. Every write throws `DBError.readOnly`.
    /// - Throws: `.databaseNotFound` when the directory is missing or holds
    ///   no database; `.corruption` or `.io` when reading keeps failing
    ///   after retries.
    public convenience init(followerOf primaryPath: String, options: Options = Options()) throws {
        var options = options
        options.readOnly = true
        options.isFollower = true
        options.createIfMissing = false
        let opened = options
        let impl = try DBImpl.retryingFollower { try DBImpl(path: primaryPath, options: opened) }
        do {
            try impl.followerCatchUp()
        } catch {
            try? impl.close()
            throw error
        }
        self.init(impl: impl)
    }

    /// A follower reads the primary's files again and shows everything
    /// they hold now: new tables, compactions, new WAL records, keyspaces
    /// created and dropped. What it sees after each call is a prefix of
    /// the primary's commits, never less than before. Reads running
    /// meanwhile finish on the view they took; an iterator keeps its
    /// view; a `Snapshot` taken before the call is refused afterwards
    /// (`.misuse`), since the primary's compactions do not keep what it
    /// would read.
    /// - Throws: `.misuse` on a database not opened with
    ///   `DB(followerOf:)`; `.closed`; `.corruption`/`.io` when reading
    ///   keeps failing after retries (the view is then unchanged).
    public func catchUp() throws {
        try impl.followerCatchUp()
    }

    /// `catchUp()` on a thread of its own; the task suspends meanwhile.
    public func catchUp() async throws {
        let impl = self.impl
        try await ThreadOffload.run { try impl.followerCatchUp() }
    }
}
