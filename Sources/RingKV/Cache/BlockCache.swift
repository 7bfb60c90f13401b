import RingIO
import Synchronization

/// Names one data block: the table's file number and the block's offset in
/// it. File numbers are never reused while a process has the database open,
/// so an entry of a deleted table can never be mistaken for a new table's
/// block; such entries simply age out (CLOCK evicts them first: nobody hits them).
struct BlockCacheKey: Hashable, Sendable {
    var fileNumber: UInt64
    var blockOffset: UInt64

    /// A well-mixed 64-bit value used to pick the shard (the dictionary
    /// inside a shard hashes the key again with its own seed).
    @inline(__always)
    var shardHash: UInt64 {
        var h = (fileNumber &* 0x9E37_79B9_7F4A_7C15) ^ (blockOffset &* 0xC2B2_AE3D_27D4_EB4F)
        h ^= h >> 31
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 29)
    }
}

/// The cache of decompressed, checksum-verified data blocks shared by all
/// readers of one database (capacity `Options.blockCacheSizeBytes`).
///
/// Sharded CLOCK: a key picks one of `shardCount` shards by hash; each
/// shard is a `ClockList` with 1/shardCount of the capacity behind a
/// reader-writer lock. A hit takes the shard's lock *shared* and sets the
/// block's reference bit, so concurrent hits never wait for each other or
/// move list nodes (an LRU hit must relink under an exclusive lock — the
/// futex waits the read profile showed); inserts take it exclusive, and
/// the blocks they evict are released after unlocking. Hits and misses are
/// relaxed atomic counts per shard. A block is charged `Block.memoryBytes`.
///
/// Only data blocks live here. A table's index block and bloom filter are
/// read when the table is opened and held by its `TableReader` for as long
/// as the table cache keeps that reader open ("pinned" per open table), so
/// they are bounded by `Options.maxOpenFiles`, not by this capacity.
///
/// A `Block` handed out stays valid after eviction: eviction only drops the
/// cache's reference, the reader holding the block keeps it alive.
final class BlockCache: Sendable {
    static let defaultShardCount = 16

    /// One shard: its entries, and its hit/miss counts.
    private final class Shard: Sendable {
        let list: ReadMostlyLock<ClockList>
        let hits = Atomic<UInt64>(0)
        let misses = Atomic<UInt64>(0)
        init(capacityBytes: Int) { list = ReadMostlyLock(ClockList(capacityBytes: capacityBytes)) }
    }

    let capacityBytes: Int
    private let shards: [Shard]

    /// - Parameters:
    ///   - capacityBytes: total bytes of blocks kept; 0 disables the cache
    ///     (every lookup misses, inserts are dropped).
    ///   - shardCount: number of independently locked shards (>= 1).
    init(capacityBytes: Int, shardCount: Int = BlockCache.defaultShardCount) {
        precondition(capacityBytes >= 0, "block cache capacity must be non-negative")
        precondition(shardCount >= 1, "block cache needs at least one shard")
        self.capacityBytes = capacityBytes
        // Round up so the shards together hold at least `capacityBytes`.
        let perShard = (capacityBytes + shardCount - 1) / shardCount
        shards = (0..<shardCount).map { _ in Shard(capacityBytes: perShard) }
    }

    @inline(__always)
    private func shard(for key: BlockCacheKey) -> Shard {
        shards[Int(key.shardHash % UInt64(shards.count))]
    }

    /// The cached block for `key` (now marked recently used), or nil.
    /// Counts a hit or a miss.
    func lookup(_ key: BlockCacheKey) -> Block? {
        let s = shard(for: key)
        if let block = s.list.withReadLock({ $0.get(key) }) {
            s.hits.add(1, ordering: .relaxed)
            return block
        }
        s.misses.add(1, ordering: .relaxed)
        return nil
    }

    func lookup(fileNumber: UInt64, handle: BlockHandle) -> Block? {
        lookup(BlockCacheKey(fileNumber: fileNumber, blockOffset: handle.offset))
    }

    /// True when `key` is cached; neither counts nor marks it (used by
    /// read-ahead to skip blocks it need not read).
    func contains(_ key: BlockCacheKey) -> Bool {
        shard(for: key).list.withReadLock { $0.contains(key) }
    }

    /// Caches `block` under `key`, evicting the shard's CLOCK victims until
    /// it fits. A block larger than a shard's capacity is not cached.
    func insert(_ key: BlockCacheKey, _ block: Block) {
        let dropped = shard(for: key).list.withWriteLock { $0.insert(key, block, chargeBytes: block.memoryBytes) }
        // Released here, outside the lock (freeing blocks takes time).
        withExtendedLifetime(dropped) {}
    }

    func insert(fileNumber: UInt64, handle: BlockHandle, _ block: Block) {
        insert(BlockCacheKey(fileNumber: fileNumber, blockOffset: handle.offset), block)
    }

    /// Drops every block of table `fileNumber` (walks every shard).
    func eraseFile(_ fileNumber: UInt64) {
        for s in shards {
            let dropped = s.list.withWriteLock { $0.removeAll { $0.fileNumber == fileNumber } }
            withExtendedLifetime(dropped) {}
        }
    }

    // MARK: - Statistics

    struct Statistics: Sendable, Equatable {
        var capacityBytes: Int
        var usageBytes: Int
        var entryCount: Int
        var hits: UInt64
        var misses: UInt64
        var evictions: UInt64
    }

    /// Totals over all shards (each shard read under its lock; the sum is
    /// not one atomic picture while other threads read).
    var statistics: Statistics {
        var out = Statistics(capacityBytes: capacityBytes, usageBytes: 0, entryCount: 0, hits: 0, misses: 0, evictions: 0)
        for s in shards {
            s.list.withReadLock { list in
                out.usageBytes += list.usageBytes
                out.entryCount += list.count
                out.evictions += list.evictionCount
            }
            out.hits += s.hits.load(ordering: .relaxed)
            out.misses += s.misses.load(ordering: .relaxed)
        }
        return out
    }

    var shardCount: Int { shards.count }
    /// Capacity of one shard in bytes.
    var shardCapacityBytes: Int { shards[0].list.withReadLock { $0.capacityBytes } }
}
