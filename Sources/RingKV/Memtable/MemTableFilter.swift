import CRingSupport
import RingIO

/// A blocked Bloom filter over the user keys of one memtable: a point
/// lookup of a key the memtable does not hold skips the skiplist search
/// (about 20 dependent cache misses in a full 64 MiB memtable) for one
/// cache line. In YCSB A, B and F about 70 % of memtable probes find
/// nothing (docs/ARCHITECTURE.md §Read path).
///
/// Each key sets six bits of one 64-byte block chosen by its
/// `BloomHash.hash64`, the hash the read path computes once per key for
/// the tables' filters too. The filter takes 1/64 of the memtable size
/// (`byteCount(forMemtableBytes:)`): 1 MiB for 64 MiB, about 128 bits per
/// key for 1 KiB values, 6 for 40-byte entries.
///
/// One writer (the memtable's inserter), lock-free readers: `add` sets its
/// bits with relaxed atomic ORs before the entry is linked into the
/// skiplist, and a reader only looks for entries whose sequence was
/// published after their insert (or that its own thread wrote), so the bits
/// it needs are visible to it.
final class MemTableFilter: @unchecked Sendable {
    // @unchecked Sendable: `words` is only touched through atomics.
    static let blockBytes = 64
    private static let probes = 6
    private let words: UnsafeMutablePointer<UInt64>
    private let byteCount: Int
    private let blockMask: Int

    /// A filter of at least `byteCount` bytes (a power of two of blocks).
    init(byteCount requested: Int) {
        var blocks = 1
        while blocks * MemTableFilter.blockBytes < requested { blocks <<= 1 }
        byteCount = blocks * MemTableFilter.blockBytes
        blockMask = blocks - 1
        let raw = PageMemory.allocate(byteCount: byteCount, alignment: MemTableFilter.blockBytes, zeroed: true)
        words = raw.bindMemory(to: UInt64.self, capacity: blocks * 8)
    }

    deinit { PageMemory.free(UnsafeMutableRawPointer(words), byteCount: byteCount) }

    /// The filter size for a memtable of `memtableBytes`: 1/64 of it,
    /// at least one block, at most 4 MiB.
    static func byteCount(forMemtableBytes memtableBytes: Int) -> Int {
        min(max(memtableBytes / 64, blockBytes), 4 << 20)
    }

    /// Bytes held.
    var memoryBytes: Int { byteCount }

    /// Records a key by its `BloomHash.hash64` (the inserter only).
    @inline(__always)
    func add(hash: UInt64) {
        _ = forEachBit(of: hash) { word, mask in
            rk_atomic_or_relaxed_u64(word, mask)
            return true
        }
    }

    /// False when no key with this hash was added.
    @inline(__always)
    func mayContain(hash: UInt64) -> Bool {
        forEachBit(of: hash) { word, mask in rk_atomic_load_relaxed_u64(word) & mask != 0 }
    }

    /// Calls `body` with the word and bit mask of each of the key's bits
    /// (all in one block picked by the hash's high bits), stopping when it
    /// returns false; returns whether it never did.
    @inline(__always)
    private func forEachBit(of hash: UInt64, _ body: (UnsafeMutablePointer<UInt64>, UInt64) -> Bool) -> Bool {
        let block = words + (Int(truncatingIfNeeded: hash >> 40) & blockMask) * 8
        var h = UInt32(truncatingIfNeeded: hash)
        let delta = (h >> 17) | (h << 15)
        for _ in 0..<MemTableFilter.probes {
            let bit = Int(h & 511)
            if !body(block + (bit >> 6), 1 << UInt64(bit & 63)) { return false }
            h &+= delta
        }
        return true
    }
}
