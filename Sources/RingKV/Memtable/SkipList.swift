import CRingSupport
import RingIO
import Synchronization

/// A skiplist of memtable entries whose nodes live in an `Arena`, ordered by
/// `InternalKey.compare`.
///
/// Node layout (raw memory, 8-byte aligned; see docs/MEMTABLE.md):
///
///     next[height-1] ... next[1] next[0] | entry (MemTableEntry)
///                                        ^ the node pointer
///
/// Each `next[i]` is a UInt64 holding the address of the following node at
/// level i, or 0. Keeping the links in front of the node pointer lets the
/// entry be found without storing the height.
///
/// Concurrency contract: one inserter at a time (the caller serializes
/// `insert`), any number of readers concurrently with it and without locks.
/// - A node's entry bytes and its own next pointers are written before the
///   node is linked in; each link is published with a release store, and
///   readers follow links with acquire loads, so a reader that reaches a node
///   sees it fully built.
/// - Level 0 is linked first, so a node visible at any level is already in
///   the level-0 chain that ordered iteration walks.
/// - Nodes are never unlinked or moved, and the arena outlives every reader
///   (the memtable owns both and iterators keep the memtable alive).
final class SkipList {
    static let maxHeight = 12
    /// Each level holds about 1/branching of the nodes of the level below.
    static let branching = 4

    /// A search key split in its two parts, so a lookup by (user key,
    /// sequence) needs no buffer to build the internal key in.
    struct Target {
        var userKey: UnsafeRawBufferPointer
        var trailer: UInt64

        init(userKey: UnsafeRawBufferPointer, trailer: UInt64) {
            self.userKey = userKey
            self.trailer = trailer
        }

        /// Requires an encoded internal key (at least the 8-byte trailer).
        init(internalKey: UnsafeRawBufferPointer) {
            precondition(internalKey.count >= InternalKey.trailerSize,
                         "internal key of \(internalKey.count) bytes has no trailer")
            self.init(userKey: InternalKey.userKey(internalKey), trailer: InternalKey.trailer(internalKey))
        }
    }

    private let arena: Arena
    /// Where values longer than `MemTableEntry.inlineValueMaxBytes` go, so
    /// that nodes stay small and close together.
    private let valueArena: Arena
    /// Sentinel with `maxHeight` links and no entry; never compared.
    private let head: UnsafeMutableRawPointer
    /// Height of the tallest node so far. Relaxed: a reader that sees an old
    /// (lower) value just starts lower; one that sees a new value before the
    /// head's new links finds null there and drops a level.
    private let currentHeight = Atomic<Int>(1)

    // MARK: - Inserter-only state

    private var random: SplitMix64
    /// Scratch for `insert`: the rightmost node before the new one per level.
    private let previous: UnsafeMutablePointer<UnsafeMutableRawPointer>

    init(arena: Arena, valueArena: Arena, seed: UInt64) {
        self.arena = arena
        self.valueArena = valueArena
        self.random = SplitMix64(seed: seed)
        let linkBytes = SkipList.maxHeight * 8
        let raw = arena.allocate(byteCount: linkBytes)
        raw.initializeMemory(as: UInt64.self, repeating: 0, count: SkipList.maxHeight)
        head = raw + linkBytes
        previous = .allocate(capacity: SkipList.maxHeight)
        previous.initialize(repeating: head, count: SkipList.maxHeight)
    }

    deinit {
        previous.deallocate()
    }

    // MARK: - Links

    @inline(__always)
    private static func link(_ node: UnsafeMutableRawPointer, _ level: Int) -> UnsafeMutablePointer<UInt64> {
        // The link words were bound to UInt64 when the node was allocated.
        (node - 8 * (level + 1)).assumingMemoryBound(to: UInt64.self)
    }

    /// The node after `node` at `level` (acquire: its contents are visible).
    @inline(__always)
    static func next(_ node: UnsafeMutableRawPointer, level: Int) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer(bitPattern: UInt(rk_atomic_load_acquire_u64(link(node, level))))
    }

    @inline(__always)
    private static func setNext(_ node: UnsafeMutableRawPointer, level: Int, _ target: UnsafeMutableRawPointer?) {
        rk_atomic_store_release_u64(link(node, level), UInt64(UInt(bitPattern: target)))
    }

    /// The internal key stored in a (non-head) node.
    @inline(__always)
    static func internalKey(_ node: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        MemTableEntry.internalKey(at: UnsafeRawPointer(node))
    }

    /// Negative when `node`'s key sorts before `target`, 0 when equal.
    @inline(__always)
    private static func compare(_ node: UnsafeMutableRawPointer, _ target: Target) -> Int {
        let key = internalKey(node)
        let c = compareBytes(InternalKey.userKey(key), target.userKey)
        if c != 0 { return c }
        let trailer = InternalKey.trailer(key)
        return trailer > target.trailer ? -1 : (trailer < target.trailer ? 1 : 0)
    }

    // MARK: - Reads (any thread)

    /// The first node, or nil when empty.
    @inline(__always)
    var first: UnsafeMutableRawPointer? { SkipList.next(head, level: 0) }

    /// The first node whose key is >= `target`, or nil.
    ///
    /// A node found >= `target` at one level is often the next node one
    /// level down too: it is not compared again (`notBefore`; nodes never
    /// move, so it stays >= `target`).
    func seek(_ target: Target) -> UnsafeMutableRawPointer? {
        var x = head
        var level = currentHeight.load(ordering: .relaxed) - 1
        var notBefore: UnsafeMutableRawPointer?
        while true {
            let n = SkipList.next(x, level: level)
            if let n, n != notBefore, SkipList.compare(n, target) < 0 {
                x = n
            } else if level == 0 {
                // `n` itself, not a second load of the link: the inserter
                // may have linked a smaller node after `x` meanwhile, and a
                // reload would return that node although it sorts before
                // `target` (a get would then miss a present key).
                return n
            } else {
                notBefore = n
                level -= 1
            }
        }
    }

    /// The last node, or nil when empty: walks right as far as possible
    /// at each level, top down (O(log n); nodes have no back links).
    func last() -> UnsafeMutableRawPointer? {
        var x = head
        var level = currentHeight.load(ordering: .relaxed) - 1
        while true {
            if let n = SkipList.next(x, level: level) {
                x = n
            } else if level == 0 {
                return x == head ? nil : x
            } else {
                level -= 1
            }
        }
    }

    /// The last node whose key is < `target`, or nil (O(log n): this is how
    /// a reverse step finds its predecessor without back links). A node an
    /// inserter links meanwhile is found or not, never half-built.
    func lastBefore(_ target: Target) -> UnsafeMutableRawPointer? {
        var x = head
        var level = currentHeight.load(ordering: .relaxed) - 1
        while true {
            if let n = SkipList.next(x, level: level), SkipList.compare(n, target) < 0 {
                x = n
            } else if level == 0 {
                return x == head ? nil : x
            } else {
                level -= 1
            }
        }
    }

    // MARK: - Insert (one inserter at a time)

    /// Links a new node holding the entry (userKey, trailer, value) and
    /// returns it. The same (user key, trailer) must not be inserted twice.
    @discardableResult
    func insert(userKey: UnsafeRawBufferPointer, trailer: UInt64, value: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let target = Target(userKey: userKey, trailer: trailer)
        let height = randomHeight()
        let oldHeight = currentHeight.load(ordering: .relaxed)

        // Find the predecessor at each level in use. As in `seek`, the node
        // last found >= `target` is not compared again one level down.
        var x = head
        var level = oldHeight - 1
        var notBefore: UnsafeMutableRawPointer?
        var notBeforeIsEqual = false
        while true {
            let n = SkipList.next(x, level: level)
            if let n, n != notBefore {
                let c = SkipList.compare(n, target)
                if c < 0 {
                    x = n
                    continue
                }
                notBefore = n
                notBeforeIsEqual = c == 0
            }
            if level == 0 {
                // Here `n` is nil or the node `notBefore` (>= target).
                precondition(n == nil || !notBeforeIsEqual,
                             "memtable insert of an internal key that is already present")
            }
            previous[level] = x
            if level == 0 { break }
            level -= 1
        }
        if height > oldHeight {
            for l in oldHeight..<height { previous[l] = head }
            currentHeight.store(height, ordering: .relaxed)
        }

        // Build the node completely before any reader can reach it.
        let linkBytes = height * 8
        let entryBytes = MemTableEntry.encodedSizeBytes(userKeyBytes: userKey.count, valueBytes: value.count)
        var outOfLine: UnsafeMutableRawPointer?
        if MemTableEntry.storesValueApart(value.count), let base = value.baseAddress {
            let copy = valueArena.allocate(byteCount: value.count)
            copy.copyMemory(from: base, byteCount: value.count)
            outOfLine = copy
        }
        let raw = arena.allocate(byteCount: linkBytes + entryBytes)
        raw.bindMemory(to: UInt64.self, capacity: height)
        let node = raw + linkBytes
        MemTableEntry.encode(to: node, userKey: userKey, trailer: trailer, value: value,
                             outOfLineValue: outOfLine.map { UnsafeRawPointer($0) })
        for l in 0..<height {
            // The new node is unreachable yet, so the order of these stores
            // is free; release keeps the code to one primitive.
            SkipList.setNext(node, level: l, SkipList.next(previous[l], level: l))
        }
        // Publish bottom-up: the release store makes the entry and the
        // node's links visible to any reader that loads this link.
        for l in 0..<height {
            SkipList.setNext(previous[l], level: l, node)
        }
        return node
    }

    private func randomHeight() -> Int {
        // Two bits per level: each level up has probability 1/4.
        var bits = random.next()
        var height = 1
        while height < SkipList.maxHeight && bits & UInt64(SkipList.branching - 1) == 0 {
            height += 1
            bits >>= 2
        }
        return height
    }
}
