/// The mutable part of a `Transaction` (guarded by its mutex): the read
/// view of its snapshot, the buffered writes (a `WriteBatch`, committed as
/// one), an index of them for read-your-writes, and the keys it read or
/// wrote with their conflict-table slots (ConflictTable.swift), handed to
/// the commit as a `TransactionCheck`.
struct TransactionState {
    enum Phase { case open, committed, rolledBack, failed }

    /// A key of one keyspace (0: default).
    struct OwnKey: Hashable {
        let keyspace: UInt32
        let key: [UInt8]
    }

    /// A buffered point write: the value (nil: deleted) and its place in
    /// the transaction's order of writes; then the own merge operands
    /// buffered after it (oldest first), applied to `value` — or, when
    /// `onSnapshot`, to the key's value at the snapshot (the transaction
    /// merged without a put, delete or covering range deletion before).
    struct OwnWrite {
        var value: [UInt8]?
        var ordinal: Int
        var operands: [[UInt8]] = []
        var onSnapshot = false

        /// What it says about its key, unless a later range covers it.
        var asLookup: OwnLookup {
            if !operands.isEmpty { return .merged(base: value, operands: operands, onSnapshot: onSnapshot) }
            if let value { return .value(value) }
            return .deleted
        }
    }

    /// A buffered range deletion.
    struct OwnRange {
        let keyspace: UInt32
        let from: [UInt8]
        let to: [UInt8]
        let ordinal: Int
    }

    /// What the transaction's own writes say about a key.
    enum OwnLookup {
        case notWritten
        case value([UInt8])
        case deleted
        /// Own merge operands (oldest first) to fold onto `base`, or onto
        /// the snapshot's value when `onSnapshot` (a read of the snapshot).
        case merged(base: [UInt8]?, operands: [[UInt8]], onSnapshot: Bool)
    }

    /// Bytes a transaction's batch reserves when it begins: two small
    /// puts fit without growing it (one allocation).
    static let reservedBatchBytes = 256

    var phase = Phase.open
    /// A `Snapshot` object at the transaction's sequence, made on first
    /// need (reads of other keyspaces, async reads, iterators): most
    /// transactions read the default keyspace through `view` only.
    var snapshot: Snapshot?
    /// The default keyspace's view at the snapshot (nil: none, or ended).
    var view: TransactionView?
    var batch = WriteBatch(reservingBytes: TransactionState.reservedBatchBytes)
    var writes = TransactionOwnWrites()
    var ranges: [OwnRange] = []
    var ordinal = 0
    /// Tracked keys (read, or put or deleted; a merge alone is not
    /// tracked) with their keyspaces and slots, deduplicated by slot; an
    /// entry is `written` when a put or delete of the transaction hashes
    /// to its slot (the commit raises those slots: ConflictTable.raise).
    var tracked: [TrackedKey] = []
    /// Past 16 tracked keys: slot → index in `tracked`.
    private var trackedIndex: [Int: Int] = [:]
    /// Slots of keys the transaction merged into (raised at commit, not
    /// validated: a blind merge does not conflict); usually empty.
    var mergeSlots: [Int] = []
    /// Keyspaces of own range deletions, each with its first range's
    /// start (the key a conflict names); usually empty.
    var rangeKeyspaces: [(id: UInt32, firstKey: [UInt8])] = []

    /// An open transaction's state, without a view yet.
    @inline(__always) init() {}

    func checkOpen() throws(DBError) {
        switch phase {
        case .open: return
        case .committed: throw DBError.transactionClosed(state: "committed")
        case .rolledBack: throw DBError.transactionClosed(state: "rolled back")
        case .failed: throw DBError.transactionClosed(state: "ended by a failed commit")
        }
    }

    /// Records `key` of `keyspace` as read or written (`written`: by a
    /// put or delete). `hash`: `BloomHash.hash64(key)` when the caller
    /// has it. While the list is short a key already in it (a put after a
    /// get of it) is found by comparing keys, without hashing it again.
    mutating func track(keyspace: UInt32, key: [UInt8], hash: UInt64? = nil, written: Bool) {
        if tracked.count < 16 {
            if let i = tracked.firstIndex(where: { $0.keyspace == keyspace && $0.key == key }) {
                if written { tracked[i].written = true }
                return
            }
        }
        let slot = hash.map { ConflictTable.slot(keyspace: keyspace, hash: $0) }
            ?? ConflictTable.slot(keyspace: keyspace, key: key)
        let existing: Int?
        if tracked.count < 16 {
            existing = tracked.firstIndex { $0.slot == slot }
        } else {
            if trackedIndex.isEmpty {
                for (i, t) in tracked.enumerated() where trackedIndex[t.slot] == nil { trackedIndex[t.slot] = i }
            }
            existing = trackedIndex[slot]
        }
        if let existing {
            if written { tracked[existing].written = true }
            return
        }
        if tracked.isEmpty { tracked.reserveCapacity(4) }
        if !trackedIndex.isEmpty { trackedIndex[slot] = tracked.count }
        tracked.append(TrackedKey(slot: slot, keyspace: keyspace, key: key, written: written))
    }

    mutating func recordWrite(keyspace: UInt32, key: [UInt8], value: [UInt8]?) {
        ordinal += 1
        writes.set(OwnKey(keyspace: keyspace, key: key), OwnWrite(value: value, ordinal: ordinal))
        track(keyspace: keyspace, key: key, written: true)
    }

    /// Records an own merge operand: appended to the own write of the key
    /// when it has one no own range deletion covers; else it starts one on
    /// the snapshot's value (no covering range) or on nothing. A merge is
    /// not tracked: a blind merge does not conflict (docs/TRANSACTIONS.md).
    mutating func recordMerge(keyspace: UInt32, key: [UInt8], operand: [UInt8]) {
        ordinal += 1
        let slot = ConflictTable.slot(keyspace: keyspace, key: key)
        if mergeSlots.count >= 16 || !mergeSlots.contains(slot) { mergeSlots.append(slot) }
        let ownKey = OwnKey(keyspace: keyspace, key: key)
        let range = ranges.isEmpty ? 0 : coveringRangeOrdinal(keyspace: keyspace, key: key)
        if let own = writes[ownKey], own.ordinal > range {
            writes.appendOperand(ownKey, operand, ordinal: ordinal)
        } else {
            writes.set(ownKey, OwnWrite(value: nil, ordinal: ordinal, operands: [operand], onSnapshot: range == 0))
        }
    }

    mutating func recordRange(keyspace: UInt32, from: [UInt8], to: [UInt8]) {
        ordinal += 1
        ranges.append(OwnRange(keyspace: keyspace, from: from, to: to, ordinal: ordinal))
        if !rangeKeyspaces.contains(where: { $0.id == keyspace }) { rangeKeyspaces.append((keyspace, from)) }
    }

    /// The newest own range deletion covering `key`, by ordinal (0: none).
    func coveringRangeOrdinal(keyspace: UInt32, key: [UInt8]) -> Int {
        var newest = 0
        for r in ranges where r.keyspace == keyspace && r.ordinal > newest {
            if compareBytes(r.from, key) <= 0 && compareBytes(key, r.to) < 0 { newest = r.ordinal }
        }
        return newest
    }

    func lookup(keyspace: UInt32, key: [UInt8]) -> OwnLookup {
        let own = writes[OwnKey(keyspace: keyspace, key: key)]
        let range = ranges.isEmpty ? 0 : coveringRangeOrdinal(keyspace: keyspace, key: key)
        if let own, own.ordinal > range { return own.asLookup }
        return range > 0 ? .deleted : .notWritten
    }

    /// The own writes of `keyspace` in `[lower, upper)` (nil: open), in
    /// key order, each with its value (nil: deleted, also by a later own
    /// range deletion, or own merge operands); and the own range
    /// deletions of `keyspace`.
    func ownEntries(keyspace: UInt32, lower: [UInt8]?, upper: [UInt8]?)
        -> (entries: [(key: [UInt8], own: OwnLookup)], ranges: [(from: [UInt8], to: [UInt8])]) {
        var entries: [(key: [UInt8], own: OwnLookup)] = []
        for (k, w) in writes.entries where k.keyspace == keyspace {
            if let lower, compareBytes(k.key, lower) < 0 { continue }
            if let upper, compareBytes(k.key, upper) >= 0 { continue }
            let covered = ranges.isEmpty ? 0 : coveringRangeOrdinal(keyspace: keyspace, key: k.key)
            entries.append((k.key, covered > w.ordinal ? .deleted : w.asLookup))
        }
        entries.sort { compareBytes($0.key, $1.key) < 0 }
        let own = ranges.filter { $0.keyspace == keyspace }.map { (from: $0.from, to: $0.to) }
        return (entries, own)
    }

    func makeCheck(snapshotSequence: SequenceNumber) -> TransactionCheck {
        TransactionCheck(snapshotSequence: snapshotSequence, tracked: tracked, mergeSlots: mergeSlots,
                         rangeKeyspaces: rangeKeyspaces)
    }
}
