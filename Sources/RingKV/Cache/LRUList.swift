/// A least-recently-used map with byte accounting: every entry carries a
/// `charge` (bytes it holds), and inserting beyond `capacityBytes` evicts
/// from the cold end until the total fits again. One shard of the block
/// cache; not thread-safe by itself (the shard's mutex guards it).
///
/// Nodes live in one array linked by indices (no object per entry); freed
/// slots are reused. Invariants: `usageBytes` is the sum of the charges of
/// the linked nodes and is <= `capacityBytes` after every call; `index`
/// maps exactly the linked nodes' keys to their slots.
struct LRUList<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value?
        var chargeBytes: Int
        /// Towards the most recently used end (-1: this is the head).
        var newer: Int32
        /// Towards the least recently used end (-1: this is the tail).
        var older: Int32
    }

    let capacityBytes: Int
    private(set) var usageBytes = 0
    /// Entries dropped to make room since the list was created.
    private(set) var evictionCount: UInt64 = 0
    private var nodes: [Node] = []
    private var freeSlots: [Int32] = []
    private var index: [Key: Int32] = [:]
    /// Most recently used node, or -1 when empty.
    private var head: Int32 = -1
    /// Least recently used node, or -1 when empty.
    private var tail: Int32 = -1

    init(capacityBytes: Int) {
        precondition(capacityBytes >= 0, "LRU capacity must be non-negative")
        self.capacityBytes = capacityBytes
    }

    var count: Int { index.count }

    /// The value for `key`, now the most recently used; nil when absent.
    mutating func get(_ key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return nodes[Int(slot)].value
    }

    /// The value for `key` without changing its recency (for tests and stats).
    func peek(_ key: Key) -> Value? {
        index[key].flatMap { nodes[Int($0)].value }
    }

    func contains(_ key: Key) -> Bool { index[key] != nil }

    /// Inserts or replaces `key`, making it the most recently used, then
    /// evicts least recently used entries until the charges fit. An entry
    /// larger than the whole capacity is not kept (and replaces nothing it
    /// could not hold: an older value for `key` is dropped).
    mutating func insert(_ key: Key, _ value: Value, chargeBytes: Int) {
        precondition(chargeBytes >= 0, "LRU charge must be non-negative")
        guard chargeBytes <= capacityBytes else {
            remove(key)
            return
        }
        if let slot = index[key] {
            let i = Int(slot)
            usageBytes += chargeBytes - nodes[i].chargeBytes
            nodes[i].value = value
            nodes[i].chargeBytes = chargeBytes
            moveToFront(slot)
        } else {
            let node = Node(key: key, value: value, chargeBytes: chargeBytes, newer: -1, older: -1)
            let slot: Int32
            if let reused = freeSlots.popLast() {
                slot = reused
                nodes[Int(slot)] = node
            } else {
                precondition(nodes.count < Int(Int32.max), "LRU list holds at most Int32.max entries")
                slot = Int32(nodes.count)
                nodes.append(node)
            }
            index[key] = slot
            usageBytes += chargeBytes
            linkAtFront(slot)
        }
        while usageBytes > capacityBytes, tail >= 0 {
            let victim = tail
            unlinkAndFree(victim)
            evictionCount += 1
        }
    }

    /// Drops `key` if present.
    mutating func remove(_ key: Key) {
        guard let slot = index[key] else { return }
        unlinkAndFree(slot)
    }

    /// Drops every entry whose key satisfies `predicate`.
    mutating func removeAll(where predicate: (Key) -> Bool) {
        let doomed = index.filter { predicate($0.key) }.map(\.value)
        for slot in doomed { unlinkAndFree(slot) }
    }

    /// Keys from most to least recently used (tests and debugging).
    var keysByRecency: [Key] {
        var out: [Key] = []
        var at = head
        while at >= 0 {
            out.append(nodes[Int(at)].key)
            at = nodes[Int(at)].older
        }
        return out
    }

    // MARK: - Links

    private mutating func moveToFront(_ slot: Int32) {
        guard slot != head else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private mutating func linkAtFront(_ slot: Int32) {
        nodes[Int(slot)].newer = -1
        nodes[Int(slot)].older = head
        if head >= 0 { nodes[Int(head)].newer = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func unlink(_ slot: Int32) {
        // Only the links are read: copying the whole node would retain its value.
        let newer = nodes[Int(slot)].newer
        let older = nodes[Int(slot)].older
        if newer >= 0 { nodes[Int(newer)].older = older } else { head = older }
        if older >= 0 { nodes[Int(older)].newer = newer } else { tail = newer }
    }

    private mutating func unlinkAndFree(_ slot: Int32) {
        unlink(slot)
        let i = Int(slot)
        index[nodes[i].key] = nil
        usageBytes -= nodes[i].chargeBytes
        nodes[i].value = nil
        nodes[i].chargeBytes = 0
        freeSlots.append(slot)
    }
}
