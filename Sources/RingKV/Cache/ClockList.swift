/// One block-cache shard's entries, evicted in CLOCK order: a hit only
/// sets the block's `referenced` bit (an atomic store, under the shard's
/// *shared* lock), so lookups never restructure anything and never wait for
/// each other; the insert that needs room (under the exclusive lock)
/// sweeps a hand over the slots, giving each referenced block a second
/// chance (clearing its bit) and evicting the first unreferenced one.
/// CLOCK approximates LRU (RocksDB's HyperClockCache and the Linux page
/// cache use relatives of it) at a fraction of LRU's cost per hit.
///
/// Invariants: `usageBytes` is the sum of the charges of the occupied
/// slots and is <= `capacityBytes` after every insert; `index` maps exactly
/// the occupied slots' keys to their slot numbers.
struct ClockList {
    /// The blocks an insert dropped, released by the caller after its
    /// lock. The first is held inline: an insert into a full cache of
    /// blocks of one size evicts one, and on every cold read — no array
    /// allocated for it.
    struct DroppedBlocks {
        private(set) var first: Block?
        private(set) var more: [Block] = []

        mutating func append(_ block: Block) {
            if first == nil { first = block } else { more.append(block) }
        }

        var count: Int { (first == nil ? 0 : 1) + more.count }
    }

    private struct Slot {
        var key: BlockCacheKey
        var block: Block?
        var chargeBytes: Int
    }

    let capacityBytes: Int
    private(set) var usageBytes = 0
    /// Entries dropped to make room since the list was created.
    private(set) var evictionCount: UInt64 = 0
    private var slots: [Slot] = []
    private var freeSlots: [Int32] = []
    private var index = BlockIndex()
    /// The slot the next sweep looks at first.
    private var hand = 0

    init(capacityBytes: Int) {
        precondition(capacityBytes >= 0, "cache capacity must be non-negative")
        self.capacityBytes = capacityBytes
    }

    var count: Int { index.count }

    /// The block for `key`, marked referenced; nil when absent. Read-only
    /// on the list: safe under a shared lock.
    func get(_ key: BlockCacheKey) -> Block? {
        guard let slot = index.slot(for: key), let block = slots[Int(slot)].block else { return nil }
        block.markReferenced()
        return block
    }

    func contains(_ key: BlockCacheKey) -> Bool { index.slot(for: key) != nil }

    /// Inserts or replaces `key`, then evicts until the charges
    /// fit. A block larger than the whole capacity is not kept (and an
    /// older block for `key` is dropped). Returns the blocks it dropped, so
    /// the caller releases them after unlocking.
    mutating func insert(_ key: BlockCacheKey, _ block: Block, chargeBytes: Int) -> DroppedBlocks {
        precondition(chargeBytes >= 0, "cache charge must be non-negative")
        var dropped = DroppedBlocks()
        if let old = index.slot(for: key) { if let b = remove(slot: Int(old)) { dropped.append(b) } }
        guard chargeBytes <= capacityBytes else { return dropped }
        while usageBytes + chargeBytes > capacityBytes, let victim = nextVictim() {
            if let b = remove(slot: victim) { dropped.append(b) }
            evictionCount += 1
        }
        // Inserted unmarked: a block read once and never hit again goes at
        // the hand's next pass; a hit marks it for a second chance.
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
            slots[slot] = Slot(key: key, block: block, chargeBytes: chargeBytes)
        } else {
            slot = slots.count
            slots.append(Slot(key: key, block: block, chargeBytes: chargeBytes))
        }
        index.set(key, Int32(slot))
        usageBytes += chargeBytes
        return dropped
    }

    /// Removes every entry whose key matches; returns the dropped blocks.
    mutating func removeAll(where predicate: (BlockCacheKey) -> Bool) -> [Block] {
        var dropped: [Block] = []
        for slot in slots.indices where slots[slot].block != nil && predicate(slots[slot].key) {
            if let b = remove(slot: slot) { dropped.append(b) }
        }
        return dropped
    }

    // MARK: - Internals

    /// The first unreferenced occupied slot from the hand on, clearing the
    /// bits it passes; nil when nothing is cached. Two turns at most: the
    /// first clears every bit it meets.
    private mutating func nextVictim() -> Int? {
        guard !index.isEmpty else { return nil }
        for _ in 0..<(2 * slots.count + 1) {
            let slot = hand
            hand = hand + 1 == slots.count ? 0 : hand + 1
            guard let block = slots[slot].block else { continue }
            if !block.clearReferenced() { return slot }
        }
        preconditionFailure("CLOCK found no victim among \(index.count) entries after two turns")
    }

    private mutating func remove(slot: Int) -> Block? {
        let old = slots[slot]
        guard let block = old.block else { return nil }
        index.remove(old.key)
        usageBytes -= old.chargeBytes
        slots[slot].block = nil
        freeSlots.append(Int32(slot))
        return block
    }
}
