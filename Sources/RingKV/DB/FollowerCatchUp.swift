import Glibc

/// A follower: a read-only open of a directory a live primary (another
/// process) writes, refreshed by `catchUp()` (docs/REPLICATION.md
/// §Followers).
///
/// How data flows: a catch-up reads what a read-only open reads — CURRENT,
/// its MANIFEST, the live WALs (complete, checksummed records only; the
/// tail the primary is still writing is a torn tail and stops the replay)
/// — opens every table that state names (`followerPins`), and then, under
/// `mu`, swaps in the new versions, memtables, keyspaces and sequence at
/// once, so a read sees the old state or the new one, never a mix. The
/// primary may rename, append to or delete any of those files meanwhile:
/// a file missing or changed under the reading phase (a table compacted
/// away, a WAL deleted after a flush, a MANIFEST replaced at reopen) shows
/// up as an I/O error or corruption, and the whole catch-up is retried
/// from CURRENT; only when it keeps failing is the error thrown. A table
/// the primary deletes after the catch-up opened it stays readable through
/// its open descriptor (Linux keeps the inode) until the catch-up after
/// next drops the pin.
extension DBImpl {
    /// Attempts of one catch-up (or follower open) before its last error is
    /// thrown; a few milliseconds apart, longer each time.
    static let followerAttempts = 12

    /// Runs `body` again while it fails the way a file changing under it
    /// fails (I/O errors, corruption); other errors (a missing database,
    /// a closed one) are thrown at once.
    static func retryingFollower<R>(_ body: () throws -> R) throws -> R {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as DBError {
                attempt += 1
                switch error {
                case .io, .corruption: if attempt < followerAttempts { break } else { throw error }
                default: throw error
                }
                usleep(UInt32(min(1 << attempt, 200)) * 1000)
            }
        }
    }

    func followerCatchUp() throws {
        guard options.isFollower else {
            throw DBError.misuse("catchUp() is for a database opened with DB(followerOf:)")
        }
        try Self.retryingFollower {
            try mu.withLock { () throws(DBError) in try checkOpenLocked() }
            let state = try DatabaseRecovery.readForFollower(path: path, options: options, backend: backend)
            var pins: [UInt64: TableReader] = [:]
            for entry in state.contents.catalog.entries {
                for level in entry.files.files {
                    for file in level where pins[file.number] == nil {
                        pins[file.number] = try tableCache.reader(for: file.number)
                    }
                }
            }
            try installFollowerState(state, pins: pins)
        }
    }

    /// Swaps the state a catch-up read in, all under `mu`.
    private func installFollowerState(_ state: DatabaseRecovery.FollowerState,
                                      pins: [UInt64: TableReader]) throws(DBError) {
        mu.lock()
        defer { mu.unlock() }
        try checkOpenLocked()
        versions.adoptFollowerContents(state.contents, manifestNumber: state.manifestNumber)
        // The previous catch-up's pins stay one more round: reads that took
        // their view just before this swap still find those tables open.
        tableCache.pinFollowerTables(pins)
        followerPins = Array(pins.values)
        var live: [KeyspaceData] = []
        for record in versions.keyspaceRecords {
            let data = keyspaces[record.id]
                ?? KeyspaceData(id: record.id, name: record.name, owner: identity.id,
                                storedOptions: record.options, base: options)
            data.mem = state.memtables[record.id] ?? data.options.makeMemTable()
            live.append(data)
        }
        for data in keyspaceList where !live.contains(where: { $0 === data }) { data.dropped = true }
        keyspaces = Dictionary(uniqueKeysWithValues: live.map { ($0.id, $0) })
        keyspacesByName = Dictionary(uniqueKeysWithValues: live.map { ($0.name, $0) })
        keyspaceList = live
        lastSequence = state.contents.lastSequence
        followerGeneration += 1
    }
}
