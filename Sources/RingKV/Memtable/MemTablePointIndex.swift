import CRingSupport
import RingIO

/// A hash index from user key to the newest skiplist node of that key in
/// one memtable, so a point read finds its key with about three cache
/// misses (bucket, chain entry, node) instead of a skiplist search (about
/// 10–20 dependent misses in a large memtable; docs/TRANSACTIONS.md
/// "Fourth pass"). A memtable has one only once `MemTable.enablePointIndex`
/// installed it: a database that runs transactions (whose reads are read,
/// then written) turns it on; plain databases never pay for it.
///
/// How data flows: the inserter (`MemTable.add`, one at a time), after it
/// linked a node, records it under its key's `BloomHash.hash64`: the
/// bucket's chain of 16-byte entries `[next entry, node]` (allocated in
/// the memtable's arena) is searched for the key; a found entry's node is
/// replaced (release store), else a new entry is pushed on the chain
/// (release store of the bucket). A reader (`newest`) follows the chain
/// with acquire loads and returns the node of its key, or nil.
///
/// Why a reader may start from that node (`MemTable.find`): the memtable
/// is filled in sequence order, so the indexed node is the key's newest
/// version that was inserted after the index was installed, and every
/// other version of the key — older, indexed or not — follows it in the
/// skiplist's level-0 chain (versions sort newest first). A version the
/// reader may see (sequence at or below its snapshot) was inserted and
/// recorded before its sequence was published, so the reader sees that
/// record or a newer one; from there it walks level 0 to the first
/// version at or below its snapshot. A key not in the index may still
/// have versions from before the index was installed: the reader then
/// searches the skiplist as without an index.
///
/// Layout: one zeroed block of `bucketCount` UInt64 words (the heads; 0:
/// empty chain), freed with the memtable. Entries and nodes are never
/// moved or freed while the memtable lives.
struct MemTablePointIndex {
    /// The bucket heads; `mask` = bucket count - 1.
    let buckets: UnsafeMutablePointer<UInt64>
    let mask: Int

    /// Bucket heads for a memtable of `memtableBytes`: one per 256 bytes
    /// (a chain averages under one entry for entries of 256 bytes or
    /// more), between 1024 and 2^20 (8 MiB of heads at most; 2 MiB for
    /// the default 64 MiB memtable), a power of two.
    static func bucketCount(forMemtableBytes memtableBytes: Int) -> Int {
        let wanted = min(max(memtableBytes / 256, 1024), 1 << 20)
        var count = 1024
        while count < wanted { count <<= 1 }
        return count
    }

    /// A zeroed index of `bucketCount` heads (a power of two).
    static func allocate(bucketCount: Int) -> MemTablePointIndex {
        precondition(bucketCount > 0 && bucketCount & (bucketCount - 1) == 0,
                     "point index bucket count \(bucketCount) is not a power of two")
        let raw = PageMemory.allocate(byteCount: bucketCount * 8, alignment: 64, zeroed: true)
        return MemTablePointIndex(buckets: raw.bindMemory(to: UInt64.self, capacity: bucketCount),
                                  mask: bucketCount - 1)
    }

    /// Bytes of the bucket heads (the chain entries are arena memory).
    var byteCount: Int { (mask + 1) * 8 }

    func free() { PageMemory.free(UnsafeMutableRawPointer(buckets), byteCount: byteCount) }

    @inline(__always)
    private func head(_ hash: UInt64) -> UnsafeMutablePointer<UInt64> {
        // The filter uses the hash's low 32 bits and bits 40 up; the
        // conflict table mixes all of it. The middle bits here.
        buckets + (Int(truncatingIfNeeded: hash >> 16) & mask)
    }

    @inline(__always)
    private static func userKey(of node: UInt64) -> UnsafeRawBufferPointer {
        // Only nodes of this memtable are recorded: never 0.
        InternalKey.userKey(SkipList.internalKey(UnsafeMutableRawPointer(bitPattern: UInt(node))!))
    }

    @inline(__always)
    private static func trailer(of node: UInt64) -> UInt64 {
        InternalKey.trailer(SkipList.internalKey(UnsafeMutableRawPointer(bitPattern: UInt(node))!))
    }

    /// Records `node` (just linked into the skiplist, holding a version
    /// of `userKey`, whose hash is `hash`) as its key's newest. The
    /// inserter only; entries come from `arena` (the inserter's too).
    func record(hash: UInt64, userKey: UnsafeRawBufferPointer, node: UnsafeMutableRawPointer, arena: Arena) {
        let head = self.head(hash)
        let nodeBits = UInt64(UInt(bitPattern: node))
        var entryBits = rk_atomic_load_acquire_u64(head)
        while entryBits != 0 {
            let entry = UnsafeMutablePointer<UInt64>(bitPattern: UInt(entryBits))!
            let indexed = rk_atomic_load_acquire_u64(entry + 1)
            if compareBytes(Self.userKey(of: indexed), userKey) == 0 {
                // Only a newer version replaces it (the memtable is filled
                // in sequence order; this keeps the index right if not).
                if Self.trailer(of: nodeBits) > Self.trailer(of: indexed) {
                    rk_atomic_store_release_u64(entry + 1, nodeBits)
                }
                return
            }
            entryBits = rk_atomic_load_acquire_u64(entry)
        }
        let entry = arena.allocate(byteCount: 16).bindMemory(to: UInt64.self, capacity: 2)
        // Unreachable until the head's store below publishes it.
        rk_atomic_store_release_u64(entry, rk_atomic_load_acquire_u64(head))
        rk_atomic_store_release_u64(entry + 1, nodeBits)
        rk_atomic_store_release_u64(head, UInt64(UInt(bitPattern: entry)))
    }

    /// The node last recorded for `userKey` (hash `hash`), or nil when
    /// none was. Any thread.
    func newest(hash: UInt64, userKey: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer? {
        var entryBits = rk_atomic_load_acquire_u64(head(hash))
        while entryBits != 0 {
            let entry = UnsafeMutablePointer<UInt64>(bitPattern: UInt(entryBits))!
            let node = rk_atomic_load_acquire_u64(entry + 1)
            if compareBytes(Self.userKey(of: node), userKey) == 0 {
                return UnsafeMutableRawPointer(bitPattern: UInt(node))
            }
            entryBits = rk_atomic_load_acquire_u64(entry)
        }
        return nil
    }
}
