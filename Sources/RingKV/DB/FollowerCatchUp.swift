import Glibc
import RingIO

/// A follower: a read-only open of a directory a live primary (another
/// process) writes, refreshed by `catchUp()` (docs/REPLICATION.md
/// §Followers).
///
/// How data flows: a catch-up reads what a read-only open reads — CURRENT,
/// its MANIFEST, the live WALs (complete, checksummed records only; the
/// tail the primary is still writing is a torn tail and stops the replay)
/// — opens every table that state names (pinned in the table cache,
/// `TableCache.pinFollowerTables`), and then, under
/// `mu`, swaps in the new versions, memtables, keyspaces and sequence at
/// once, so a read sees the old state or the new one, never a mix. When
/// the primary only appended to its WAL since the last catch-up (same
/// MANIFEST file, same keyspace log numbers) just the new records are
/// replayed, from `followerCursor`, into the memtables in use (above the
/// published sequence, unseen until the swap); otherwise the replay starts
/// afresh into new memtables. The
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
        // One catch-up at a time: the cursor says where the last one
        // stopped, and only a catch-up inserts into the memtables.
        try followerCursor.withLock { cursor in
            try Self.retryingFollower {
                try mu.withLock { () throws(DBError) in try checkOpenLocked() }
                if let last = cursor {
                    // A failure part way leaves entries above the published
                    // sequence in the memtables: the retry starts afresh.
                    cursor = nil
                    if let next = try catchUpIncrementally(from: last) {
                        cursor = next
                        return
                    }
                }
                let state = try DatabaseRecovery.readForFollower(path: path, options: options, backend: backend)
                let pins = try openTables(of: state.contents)
                try installFollowerState(state.contents, manifestNumber: state.manifestNumber,
                                         memtables: state.memtables, pins: pins)
                cursor = state.logEnd.map {
                    FollowerCursor(manifestNumber: state.manifestNumber,
                                   keyspaceLogNumbers: Self.keyspaceLogNumbers(state.contents),
                                   log: $0.number, offset: $0.offset, sequence: state.contents.lastSequence)
                }
            }
        }
    }

    /// The common case: the primary appended to its WAL (and perhaps
    /// compacted) but flushed no keyspace, created or dropped none and did
    /// not reopen — the MANIFEST is the same file and every keyspace's log
    /// number is unchanged. Then only the WAL records after the cursor are
    /// replayed, into the memtables readers use (above the published
    /// sequence, so unseen until the swap). nil: not the case (or a log
    /// ended in damage while a later one holds records); replay in full.
    private func catchUpIncrementally(from last: FollowerCursor) throws -> FollowerCursor? {
        let current = try VersionSet.replayCurrent(dbPath: path, backend: backend, strict: options.paranoidChecks)
        guard current.manifestNumber == last.manifestNumber else { return nil }
        var contents = VersionSet.Contents(current.replayed, nextFileNumber: current.firstFreeFileNumber)
        let logNumbers = Self.keyspaceLogNumbers(contents)
        guard logNumbers == last.keyspaceLogNumbers else { return nil }
        let memtables = mu.withLock { keyspaces.mapValues(\.mem) }
        guard Set(memtables.keys) == Set(logNumbers.keys) else { return nil }
        let logs = try ioCall(path) { () throws(IOError) in try FileSystem.listDirectory(path) }
            .compactMap { FileNames.parse($0) }
            .filter { $0.kind == .log && $0.number >= last.log }.map(\.number).sorted()
        // The cursor's log must still be there: the primary may have
        // flushed it and deleted it after the MANIFEST above was read, and
        // its records after the cursor would then be in neither that
        // MANIFEST's tables nor the logs left.
        guard logs.first == last.log else { return nil }
        var cursor = last
        let maxKeyspaceId = contents.catalog.maxKeyspaceId
        for (index, number) in logs.enumerated() {
            let logPath = FileNames.log(path, number)
            let reader = try LogReader(path: logPath, backend: backend)
            var sequence = cursor.sequence
            let ending = try reader.read(evidence: .syncPoints, strict: options.paranoidChecks,
                                         from: number == last.log ? last.offset : 0) { record in
                if record.isSyncPoint { return }
                sequence = try MemTableInserter.applyRecovered(record.payload, path: logPath, after: sequence,
                                                               maxKeyspaceId: maxKeyspaceId) { id in
                    guard let logNumber = logNumbers[id], number >= logNumber else { return nil }
                    return memtables[id]
                }
            }
            cursor.sequence = sequence
            cursor.log = number
            cursor.offset = Int(ending.validBytes)
            // A tail still being written: stop there. Damage with a later
            // log behind it is for the full replay to judge.
            if ending.dropped != nil {
                if index + 1 < logs.count { return nil }
                break
            }
        }
        contents.lastSequence = max(contents.lastSequence, cursor.sequence)
        cursor.sequence = contents.lastSequence
        let pins = try openTables(of: contents)
        try installFollowerState(contents, manifestNumber: current.manifestNumber, memtables: nil, pins: pins)
        followerIncrementalCatchUps.add(1, ordering: .relaxed)
        return cursor
    }

    /// Every keyspace's log number in `contents`.
    private static func keyspaceLogNumbers(_ contents: VersionSet.Contents) -> [UInt32: UInt64] {
        Dictionary(uniqueKeysWithValues: contents.catalog.entries.map { ($0.record.id, $0.logNumber ?? 0) })
    }

    /// Opens every table `contents` names (through the table cache), so
    /// the primary can no longer take one away; an ingested table's global
    /// sequence is registered first, as its reader takes it at open.
    private func openTables(of contents: VersionSet.Contents) throws(DBError) -> [UInt64: TableReader] {
        var pins: [UInt64: TableReader] = [:]
        for entry in contents.catalog.entries {
            for level in entry.files.files {
                for file in level where pins[file.number] == nil {
                    if file.globalSequence != 0 {
                        tableCache.registerGlobalSequence(file.globalSequence, fileNumber: file.number)
                    }
                    pins[file.number] = try tableCache.reader(for: file.number)
                }
            }
        }
        return pins
    }

    /// Swaps a catch-up's state in, all under `mu`: versions, pins,
    /// keyspaces, memtables (nil: the current ones, replayed into), the
    /// published sequence.
    private func installFollowerState(_ contents: VersionSet.Contents, manifestNumber: UInt64,
                                      memtables: [UInt32: MemTable]?,
                                      pins: [UInt64: TableReader]) throws(DBError) {
        mu.lock()
        defer { mu.unlock() }
        try checkOpenLocked()
        versions.adoptFollowerContents(contents, manifestNumber: manifestNumber)
        // The previous catch-up's pins stay one more round: reads that took
        // their view just before this swap still find those tables open.
        tableCache.pinFollowerTables(pins)
        var live: [KeyspaceData] = []
        for record in versions.keyspaceRecords {
            let data = keyspaces[record.id]
                ?? KeyspaceData(id: record.id, name: record.name, owner: identity.id,
                                storedOptions: record.options, base: options)
            if let memtables { data.mem = memtables[record.id] ?? data.options.makeMemTable() }
            live.append(data)
        }
        for data in keyspaceList where !live.contains(where: { $0 === data }) { data.dropped = true }
        keyspaces = Dictionary(uniqueKeysWithValues: live.map { ($0.id, $0) })
        keyspacesByName = Dictionary(uniqueKeysWithValues: live.map { ($0.name, $0) })
        keyspaceList = live
        lastSequence = contents.lastSequence
        followerGeneration += 1
    }
}

/// Where a follower's last catch-up left the primary's files: which
/// MANIFEST and keyspace log numbers it saw, and the end of the last WAL
/// record it replayed.
struct FollowerCursor: Sendable {
    var manifestNumber: UInt64
    var keyspaceLogNumbers: [UInt32: UInt64]
    var log: UInt64
    var offset: Int
    var sequence: SequenceNumber
}
