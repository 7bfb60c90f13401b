import Synchronization
import Testing
@testable import RingKV

@Suite struct BlockCacheTests {
    /// A valid block of `bytes` bytes whose first 8 bytes encode `tag` (the
    /// restart count at the end is 1, offset 0).
    static func block(tag: UInt64, bytes: Int = 256) throws -> Block {
        var raw = [UInt8](repeating: 0, count: max(bytes, 16))
        withUnsafeBytes(of: tag.littleEndian) { for i in 0..<8 { raw[i] = $0[i] } }
        raw[raw.count - 4] = 1  // restart count 1 (restart offset 0 before it)
        return try Block.make(copying: raw)
    }

    static func tag(of block: Block) -> UInt64 {
        UInt64(littleEndian: block.base.loadUnaligned(as: UInt64.self))
    }

    @Test func countsHitsAndMissesAndReturnsTheInsertedBlock() throws {
        let cache = BlockCache(capacityBytes: 1 << 20)
        let key = BlockCacheKey(fileNumber: 7, blockOffset: 4096)
        #expect(cache.lookup(key) == nil)
        let block = try Self.block(tag: 42)
        cache.insert(key, block)
        #expect(cache.lookup(key) === block)
        #expect(cache.lookup(BlockCacheKey(fileNumber: 8, blockOffset: 4096)) == nil)
        let s = cache.statistics
        #expect(s.hits == 1)
        #expect(s.misses == 2)
        #expect(s.entryCount == 1)
        #expect(s.usageBytes == block.memoryBytes)
        #expect(cache.contains(key))
        #expect(cache.statistics.hits == 1)  // contains does not count
    }

    @Test func usageStaysWithinCapacityAndEvictsPerShardInClockOrder() throws {
        // One shard makes the order observable.
        let blockBytes = try Self.block(tag: 0, bytes: 1000).memoryBytes
        let cache = BlockCache(capacityBytes: blockBytes * 4, shardCount: 1)
        for i in 0..<4 {
            cache.insert(BlockCacheKey(fileNumber: 1, blockOffset: UInt64(i) * 4096), try Self.block(tag: UInt64(i), bytes: 1000))
        }
        _ = cache.lookup(BlockCacheKey(fileNumber: 1, blockOffset: 0))  // 0 gets its second chance
        cache.insert(BlockCacheKey(fileNumber: 1, blockOffset: 4 * 4096), try Self.block(tag: 4, bytes: 1000))
        #expect(!cache.contains(BlockCacheKey(fileNumber: 1, blockOffset: 4096)))  // the hand passed 0 (clearing it) and took 1
        #expect(cache.contains(BlockCacheKey(fileNumber: 1, blockOffset: 0)))
        let s = cache.statistics
        #expect(s.entryCount == 4)
        #expect(s.usageBytes == blockBytes * 4)
        #expect(s.evictions == 1)
    }

    @Test func manyShardsTogetherHoldTheCapacity() throws {
        let cache = BlockCache(capacityBytes: 1 << 20, shardCount: 16)
        #expect(cache.shardCount == 16)
        #expect(cache.shardCapacityBytes * 16 >= 1 << 20)
        for i in 0..<4000 {
            cache.insert(BlockCacheKey(fileNumber: UInt64(i % 5), blockOffset: UInt64(i) * 4096),
                         try Self.block(tag: UInt64(i), bytes: 1024))
        }
        let s = cache.statistics
        #expect(s.usageBytes <= cache.shardCapacityBytes * 16)
        #expect(s.usageBytes > (1 << 20) * 3 / 4)  // keys spread over all shards
        #expect(s.evictions + UInt64(s.entryCount) == 4000)
    }

    @Test func zeroCapacityCachesNothing() throws {
        let cache = BlockCache(capacityBytes: 0)
        let key = BlockCacheKey(fileNumber: 1, blockOffset: 0)
        cache.insert(key, try Self.block(tag: 1))
        #expect(cache.lookup(key) == nil)
        #expect(cache.statistics.usageBytes == 0)
    }

    @Test func eraseFileDropsOnlyThatTablesBlocks() throws {
        let cache = BlockCache(capacityBytes: 1 << 20)
        for f in 1...3 {
            for o in 0..<10 {
                cache.insert(BlockCacheKey(fileNumber: UInt64(f), blockOffset: UInt64(o) * 4096),
                             try Self.block(tag: UInt64(f * 100 + o)))
            }
        }
        cache.eraseFile(2)
        #expect(cache.statistics.entryCount == 20)
        #expect(!cache.contains(BlockCacheKey(fileNumber: 2, blockOffset: 0)))
        #expect(cache.contains(BlockCacheKey(fileNumber: 3, blockOffset: 9 * 4096)))
    }

    @Test func fourThreadsShareTheCacheWithoutLosingAccountingOrMixingBlocks() throws {
        let seed = testSeed()
        let blockBytes = try Self.block(tag: 0, bytes: 512).memoryBytes
        let cache = BlockCache(capacityBytes: blockBytes * 200, shardCount: 16)
        let wrongBlocks = Atomic<Int>(0)
        let hitsSeen = Atomic<Int>(0)
        let lookups = Atomic<Int>(0)
        let threads = (0..<4).map { t in
            BackgroundThread.spawn {
                var rng = SeededRandom(seed: seed &+ UInt64(t))
                for _ in 0..<20_000 {
                    let k = rng.next() % 400
                    let key = BlockCacheKey(fileNumber: k % 7, blockOffset: k * 4096)
                    lookups.add(1, ordering: .relaxed)
                    if let b = cache.lookup(key) {
                        hitsSeen.add(1, ordering: .relaxed)
                        if Self.tag(of: b) != k { wrongBlocks.add(1, ordering: .relaxed) }
                    } else if let b = try? Self.block(tag: k, bytes: 512) {
                        cache.insert(key, b)
                    }
                }
            }
        }
        for t in threads { t.join() }
        let s = cache.statistics
        #expect(wrongBlocks.load(ordering: .relaxed) == 0, "seed \(seed)")
        #expect(s.hits == UInt64(hitsSeen.load(ordering: .relaxed)))
        #expect(s.hits + s.misses == UInt64(lookups.load(ordering: .relaxed)))
        #expect(s.usageBytes <= cache.shardCapacityBytes * cache.shardCount)
        #expect(s.usageBytes == s.entryCount * blockBytes)
        #expect(s.hits > 0)
    }
}
