/// Decides, entry by entry in merge order (user key ascending, newest
/// first within a key), which entries a compaction may drop:
///
/// 1. an entry hidden by a newer value or deletion of the same user key
///    whose sequence is <= `smallestSnapshot`: every reader (the oldest
///    snapshot included) sees that newer entry or a still newer one, never
///    this one. A newer merge operand hides nothing: a reader folds it with
///    the older entries (docs/MERGE_TTL.md);
/// 2. a tombstone with sequence <= `smallestSnapshot` when no level below
///    the output level can hold its key: nothing older is left for it to
///    hide, and every reader sees the key as absent either way.
///
/// Rule 1 drops the older entries under a tombstone of rule 2 as well, so
/// a deleted key disappears completely.
///
/// A flush applies rule 1 only (`forFlush`): a memtable's older versions
/// of a key go, but every table below may hold the key, so its tombstones
/// stay (RocksDB's flush drops hidden versions the same way).
struct CompactionEntryFilter {
    enum Decision: Equatable {
        case keep
        case drop
    }

    /// Oldest sequence any reader may still read at: the oldest live
    /// snapshot, or the last sequence when none is held.
    let smallestSnapshot: SequenceNumber
    /// The levels below the output; nil when unknown (a flush: any of
    /// them may hold any key, so rule 2 never applies).
    private var deeper: DeeperLevelCursor?
    private var currentUserKey: [UInt8] = []
    private var hasCurrentUserKey = false
    /// Sequence of the previous value or deletion of `currentUserKey` (max
    /// before the first): the newest entry that hides the older ones.
    private var lastSequenceForKey = SequenceNumber.max

    /// Set by `consider` when the entry starts a new user key.
    private(set) var startedNewUserKey = false

    init(smallestSnapshot: SequenceNumber, deeperLevels: [[FileMetaData]]?) {
        self.smallestSnapshot = smallestSnapshot
        self.deeper = deeperLevels.map { DeeperLevelCursor(levels: $0) }
    }

    /// A flush's filter: `snapshots` are the live snapshot sequences
    /// read under `mu` with the memtable, which is immutable:
    /// a snapshot taken later sees its newest entries only. Tombstones
    /// are never dropped (the deeper levels are unknown: all of them).
    static func forFlush(snapshots: [SequenceNumber]) -> CompactionEntryFilter {
        CompactionEntryFilter(smallestSnapshot: snapshots.min() ?? InternalKey.maxSequenceNumber, deeperLevels: nil)
    }

    /// Entries must arrive in internal-key order.
    mutating func consider(userKey: UnsafeRawBufferPointer, sequence: SequenceNumber, type: UInt8) -> Decision {
        startedNewUserKey = !hasCurrentUserKey || currentUserKey.withUnsafeBytes { compareBytes($0, userKey) != 0 }
        if startedNewUserKey {
            currentUserKey.removeAll(keepingCapacity: true)
            currentUserKey.append(contentsOf: userKey)
            hasCurrentUserKey = true
            lastSequenceForKey = .max
        }
        var decision = Decision.keep
        if lastSequenceForKey <= smallestSnapshot {
            decision = .drop
        } else if type == ValueType.deletion.rawValue && sequence <= smallestSnapshot
                    && deeper?.mayContain(userKey: userKey) == false {
            decision = .drop
        }
        if type != ValueType.merge.rawValue { lastSequenceForKey = min(lastSequenceForKey, sequence) }
        return decision
    }

    /// Whether `userKey` differs from the key of the last entry considered.
    func isNewUserKey(_ userKey: UnsafeRawBufferPointer) -> Bool {
        !hasCurrentUserKey || currentUserKey.withUnsafeBytes { compareBytes($0, userKey) != 0 }
    }
}

/// Answers "could a level below the output level hold this user key?" for
/// keys asked in ascending order, with one forward-moving cursor per level
/// (no binary search per key).
struct DeeperLevelCursor {
    private let levels: [[FileMetaData]]
    private var positions: [Int]

    init(levels: [[FileMetaData]]) {
        self.levels = levels
        positions = Array(repeating: 0, count: levels.count)
    }

    /// Keys must be asked in non-decreasing order.
    mutating func mayContain(userKey: UnsafeRawBufferPointer) -> Bool {
        for i in levels.indices {
            let files = levels[i]
            while positions[i] < files.count,
                  files[positions[i]].largestUserKey.withUnsafeBytes({ compareBytes($0, userKey) }) < 0 {
                positions[i] += 1
            }
            if positions[i] < files.count,
               files[positions[i]].smallestUserKey.withUnsafeBytes({ compareBytes($0, userKey) }) <= 0 {
                return true
            }
        }
        return false
    }
}
