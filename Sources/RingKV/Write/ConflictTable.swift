import CRingSupport
import RingIO

/// Conflict detection for optimistic transactions (docs/TRANSACTIONS.md).
///
/// A fixed array of `slotCount` UInt64 slots; each holds the largest
/// sequence number ever committed to any key hashing to it (keyspace id
/// and key, `slot(keyspace:key:)`). Every write of every kind raises its
/// key's slot once the table is active, so a transaction whose snapshot is
/// `s` has a conflict on a key it read or wrote exactly when that key's
/// slot is above `s` — or, through a collision, when another key sharing
/// the slot was written after `s` (a false conflict, never a missed one).
/// Cost per write: one hash and one store; per validated key: one load;
/// memory: fixed, whatever the database holds, and nothing is forgotten.
///
/// Range deletions raise one of `rangeSlotCount` per-keyspace slots
/// (keyspace id modulo the count): a transaction that read or wrote any
/// key of a keyspace conflicts when a range deletion in that keyspace
/// (or one sharing its slot) committed after its snapshot — conservative.
///
/// Activation: the table costs nothing until the first transaction
/// begins (`activateLocked`). Groups already numbered then may still be
/// writing without raising slots, so every sequence allocated before
/// activation counts as "written everywhere": `floor`, and a transaction
/// whose snapshot is below it conflicts on its first key (retry).
///
/// Who touches what: `isActive` and `floor` are written under the
/// pipeline's `mu` (activation) and read by leaders under `mu`. The slots
/// are raised by the leader of a group (one at a time: leadership passes
/// through `mu`), possibly without `mu`; they are read by leaders under
/// `mu` and by read-only commits under `mu` (which may overlap a leader's
/// unlocked raising, hence relaxed atomic loads and release stores).
final class ConflictTable: @unchecked Sendable {
    // @unchecked Sendable: see the type's comment — `isActive`/`floor`
    // are guarded by the pipeline's `mu`; slot words are only accessed
    // through atomic loads and stores.
    static let slotCount = 1 << 20
    static let rangeSlotCount = 64

    /// Guarded by the pipeline's `mu`.
    private(set) var isActive = false
    /// Every sequence at or below this counts as conflicting (guarded by mu).
    private(set) var floor: SequenceNumber = 0
    private var slots: UnsafeMutablePointer<UInt64>?
    private let rangeSlots: UnsafeMutablePointer<UInt64>

    init() {
        rangeSlots = .allocate(capacity: ConflictTable.rangeSlotCount)
        rangeSlots.initialize(repeating: 0, count: ConflictTable.rangeSlotCount)
    }

    deinit {
        if let slots { PageMemory.free(UnsafeMutableRawPointer(slots), byteCount: ConflictTable.slotCount * 8) }
        rangeSlots.deallocate()
    }

    /// Bytes the table holds (0 until a transaction began).
    var memoryBytes: Int { slots == nil ? 0 : ConflictTable.slotCount * 8 }

    /// The first transaction begins: allocate the slots (zero) and count
    /// everything allocated so far (`allocatedSequence`) as written.
    /// Caller holds `mu`.
    func activateLocked(allocatedSequence: SequenceNumber) {
        guard !isActive else { return }
        let raw = PageMemory.allocate(byteCount: ConflictTable.slotCount * 8, alignment: 64, zeroed: true)
        slots = raw.bindMemory(to: UInt64.self, capacity: ConflictTable.slotCount)
        floor = allocatedSequence
        isActive = true
    }

    /// The slot of `key` in keyspace `keyspace`.
    @inline(__always)
    static func slot(keyspace: UInt32, key: UnsafeRawBufferPointer) -> Int {
        slot(keyspace: keyspace, hash: BloomHash.hash64(key))
    }

    /// The slot of a key whose `BloomHash.hash64` is `hash` (a read that
    /// hashed it for the memtable's filter reuses it).
    @inline(__always)
    static func slot(keyspace: UInt32, hash: UInt64) -> Int {
        var h = hash ^ (UInt64(keyspace) &* 0x9E37_79B9_7F4A_7C15)
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & (slotCount - 1)
    }

    static func slot(keyspace: UInt32, key: [UInt8]) -> Int {
        key.withUnsafeBytes { slot(keyspace: keyspace, key: $0) }
    }

    // MARK: - Raising (the leader, active table)

    @inline(__always)
    private func raise(slot: Int, to sequence: SequenceNumber) {
        guard let slots else { return }
        let at = slots + slot
        if rk_atomic_load_relaxed_u64(at) < sequence { rk_atomic_store_release_u64(at, sequence) }
    }

    private func raiseRange(keyspace: UInt32, to sequence: SequenceNumber) {
        let at = rangeSlots + Int(keyspace % UInt32(ConflictTable.rangeSlotCount))
        if rk_atomic_load_relaxed_u64(at) < sequence { rk_atomic_store_release_u64(at, sequence) }
    }

    /// Raises the slots of every operation of `writer`, numbered from its
    /// `firstSequence`. Only the group's leader calls this.
    func raise(_ writer: PendingWrite) {
        let sequence = writer.firstSequence
        let keyspace = writer.keyspace?.id ?? 0
        if let check = writer.check, writer.operationCount > 0 {
            return raise(transaction: check, to: sequence + UInt64(writer.operationCount) - 1)
        }
        switch writer.payload {
        case .put(let key, _), .delete(let key):
            raise(slot: ConflictTable.slot(keyspace: keyspace, key: key), to: sequence)
        case .batch(let rep, _):
            rep.withUnsafeBytes { raw in
                var s = sequence
                // The batch was validated when it was made (or built by a
                // transaction); a decode error cannot happen here, and
                // if it did the commit itself would fail on the same bytes.
                try? WriteBatch.forEach(raw) { ks, type, key, _ in
                    if type == .rangeDeletion {
                        raiseRange(keyspace: ks, to: s)
                    } else {
                        raise(slot: ConflictTable.slot(keyspace: ks, key: key), to: s)
                    }
                    s += 1
                }
            }
        case .none, .switchMemtable, .control, .syncLog:
            break
        }
    }

    /// Raises the slots of a transaction's writes from its check (their
    /// slots were computed when it wrote; its batch holds exactly these
    /// operations: a transaction commits alone, never merged with other
    /// writes) to `last`, its batch's last sequence, without decoding the
    /// batch or hashing a key. One sequence for the whole batch instead of
    /// one per operation answers every validation the same: a snapshot is
    /// never inside a committed batch (lastSequence moves by whole groups),
    /// so it is below all of the batch's sequences or at or above them all.
    private func raise(transaction check: TransactionCheck, to last: SequenceNumber) {
        // Through the buffer: a `for t in` loop copied each entry (a
        // retain and a release of its key per entry and loop).
        check.tracked.withUnsafeBufferPointer { tracked in
            for i in tracked.indices where tracked[i].written { raise(slot: tracked[i].slot, to: last) }
        }
        for slot in check.mergeSlots { raise(slot: slot, to: last) }
        for (ks, _) in check.rangeKeyspaces { raiseRange(keyspace: ks, to: last) }
    }

    /// Marks every key of `keyspace` as written at `sequence` (for writes
    /// that bypass the batch path, e.g. an ingested file: conservative).
    func raiseWholeKeyspace(_ keyspace: UInt32, to sequence: SequenceNumber) {
        raiseRange(keyspace: keyspace, to: sequence)
    }

    // MARK: - Validation

    /// The key of `check` that conflicts — a key it read or wrote whose
    /// slot was raised above its snapshot, or any of its keys when a range
    /// deletion in its keyspace committed after the snapshot — or nil.
    /// Caller holds `mu`.
    func conflictLocked(_ check: TransactionCheck) -> [UInt8]? {
        let snapshot = check.snapshotSequence
        if floor > snapshot { return check.tracked.first?.key ?? check.rangeKeyspaces.first?.firstKey ?? [] }
        // Through the buffer, by index: no copy of an entry (and no retain
        // of its key) unless it conflicts.
        let conflicting = check.tracked.withUnsafeBufferPointer { tracked -> Int? in
            if let slots {
                for i in tracked.indices where rk_atomic_load_relaxed_u64(slots + tracked[i].slot) > snapshot {
                    return i
                }
            }
            // Range deletions: the keyspace of every tracked key (one load
            // per key, no list of keyspaces to build).
            for i in tracked.indices where rangeRaised(keyspace: tracked[i].keyspace, above: snapshot) { return i }
            return nil
        }
        if let conflicting { return check.tracked[conflicting].key }
        // Then the keyspaces of own range deletions.
        for (ks, firstKey) in check.rangeKeyspaces where rangeRaised(keyspace: ks, above: snapshot) {
            return firstKey
        }
        return nil
    }

    @inline(__always)
    private func rangeRaised(keyspace: UInt32, above snapshot: SequenceNumber) -> Bool {
        rk_atomic_load_relaxed_u64(rangeSlots + Int(keyspace % UInt32(ConflictTable.rangeSlotCount))) > snapshot
    }
}

/// What a committing transaction asks the leader to validate: its
/// snapshot, and the slots of every key it read or wrote (computed on the
/// transaction's thread, so the leader only loads and compares). A class:
/// the pipeline hands it around by reference, never copying its arrays.
/// Immutable.
final class TransactionCheck: Sendable {
    let snapshotSequence: SequenceNumber
    /// Each tracked key with its keyspace and slot (the key is for the
    /// error); the `written` ones are raised at commit.
    let tracked: [TrackedKey]
    /// Slots of the keys it merged into (raised, not validated).
    let mergeSlots: [Int]
    /// Keyspaces of the transaction's range deletions, each with the start
    /// of its first one (for the error); usually empty.
    let rangeKeyspaces: [(id: UInt32, firstKey: [UInt8])]

    init(snapshotSequence: SequenceNumber, tracked: [TrackedKey], mergeSlots: [Int],
         rangeKeyspaces: [(id: UInt32, firstKey: [UInt8])]) {
        self.snapshotSequence = snapshotSequence
        self.tracked = tracked
        self.mergeSlots = mergeSlots
        self.rangeKeyspaces = rangeKeyspaces
    }
}

/// A key a transaction read or wrote, with its keyspace and conflict-table slot.
struct TrackedKey: Sendable {
    let slot: Int
    let keyspace: UInt32
    let key: [UInt8]
    /// A put or delete of the transaction hashes to `slot`.
    var written: Bool
}
