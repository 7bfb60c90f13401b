import Testing
@testable import RingKV

@Suite struct MultiGetTests {
    static let configurations: [(directReads: Bool, fillCache: Bool)] = [
        (false, true), (true, true), (false, false), (true, false),
    ]

    @Test(arguments: configurations)
    func multiGetEqualsSeparateGetsAcrossLevelsSnapshotsAndDeletes(directReads: Bool, fillCache: Bool) throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let layered = try LayeredDB(directReads: directReads)
        let db = layered.db
        let version = db.impl.versions.current
        #expect((0...3).allSatisfy { version.fileCount($0) > 0 }, "tables at L0...L3")
        if directReads, !TableTestSupport.isOnTmpfs(layered.dir.path), let f = version.files[3].first {
            #expect(try db.impl.tableCache.reader(for: f.number).file.isDirect)
        }
        let latest = ReadOptions(fillCache: fillCache)
        let atSnapshot = ReadOptions(snapshot: layered.snapshot, fillCache: fillCache)

        for count in [0, 1, 2, 32, 100, 257, LayeredDB.keySpace] {
            // Random keys with repeats, and for the largest count every key.
            let indices = count == LayeredDB.keySpace ? Array(0..<count).shuffled(using: &rng)
                                                      : (0..<count).map { _ in Int(rng.next() % UInt64(LayeredDB.keySpace)) }
            let keys = indices.map(ReadTestSupport.key)
            for (options, model) in [(latest, layered.model), (atSnapshot, layered.snapshotModel)] {
                let batched = try db.multiGet(keys, options: options)
                let separate = try keys.map { try db.get($0, options: options) }
                let vsSeparate = answerDifferences(batched, separate, keys: indices)
                let vsModel = answerDifferences(batched, indices.map { model[$0] }, keys: indices)
                #expect(vsSeparate.isEmpty, "seed \(seed), \(count) keys, multiGet vs get: \(vsSeparate)")
                #expect(vsModel.isEmpty, "seed \(seed), \(count) keys, multiGet vs model: \(vsModel)")
            }
        }

        // Iterators (with read-ahead) see the same data.
        for (options, model) in [(latest, layered.model), (atSnapshot, layered.snapshotModel)] {
            let rows = try db.scan(options: options)
            let want = model.keys.sorted()
            #expect(rows.count == want.count, "seed \(seed)")
            #expect(rows.map(\.key) == want.map(ReadTestSupport.key), "seed \(seed): scan keys differ")
            let values = answerDifferences(rows.map(\.value), want.map { model[$0] }, keys: want)
            #expect(values.isEmpty, "seed \(seed): \(values)")
        }

        let stats = db.stats()
        #expect(stats.blockCacheCapacityBytes == 64 << 20)
        if fillCache {
            #expect(stats.blockCacheEntries > 0)
            #expect(stats.blockCacheHits > 0)
        } else {
            #expect(stats.blockCacheEntries == 0)
            #expect(stats.blockCacheUsageBytes == 0)
        }
        #expect(stats.lookupReadBatches > 0)
    }

    @Test func multiGetOfUncachedKeysOverSeveralLevelsIsOneReadBatch() throws {
        let layered = try LayeredDB(directReads: true)
        let db = layered.db
        // Keys answered by the first table their filter lets through,
        // spread over every level: each needs exactly one block.
        var chosen: [Int] = []
        var byLevel: [Int: Int] = [:]
        var blocks = Set<BlockCacheKey>()
        for i in stride(from: 1, to: 1000, by: 7) where chosen.count < 32 {
            let needed = try layered.blocksNeeded(i)
            guard needed.count == 1, byLevel[needed[0].level, default: 0] < 8 else { continue }
            byLevel[needed[0].level, default: 0] += 1
            chosen.append(i)
            blocks.insert(needed[0].block)
        }
        #expect(chosen.count == 32)
        #expect(byLevel.count >= 3, "keys resolve at levels \(byLevel.keys.sorted())")
        let keys = chosen.map(ReadTestSupport.key)

        let before = db.stats()
        let values = try db.multiGet(keys)
        let after = db.stats()
        #expect(answerDifferences(values, chosen.map { layered.model[$0] }, keys: chosen).isEmpty)
        #expect(after.lookupReadBatches - before.lookupReadBatches == 1)
        #expect(after.lookupBlocksRead - before.lookupBlocksRead == UInt64(blocks.count))
        #expect(after.blockCacheEntries == blocks.count)

        // Everything is cached now: no read at all, every probe a hit.
        let again = try db.multiGet(keys)
        let last = db.stats()
        #expect(again == values)
        #expect(last.lookupReadBatches == after.lookupReadBatches)
        #expect(last.blockCacheHits - after.blockCacheHits == UInt64(keys.count))
    }

    @Test func keysNeedingTwoBlocksAtASnapshotTakeTwoRounds() throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        // At the snapshot, keys rewritten in L0 later need the L0 block
        // (whose version is too new) and then their older table's block.
        var chosen: [Int] = []
        var blocks = Set<BlockCacheKey>()
        for i in 0..<1000 where chosen.count < 32 {
            let needed = try layered.blocksNeeded(i, snapshot: layered.snapshot)
            guard needed.count == 2, needed[0].level == 0, needed[1].level > 0 else { continue }
            chosen.append(i)
            for n in needed { blocks.insert(n.block) }
        }
        #expect(chosen.count == 32)
        let before = db.stats()
        let values = try db.multiGet(chosen.map(ReadTestSupport.key), options: ReadOptions(snapshot: layered.snapshot))
        let after = db.stats()
        #expect(answerDifferences(values, chosen.map { layered.snapshotModel[$0] }, keys: chosen).isEmpty)
        #expect(after.lookupReadBatches - before.lookupReadBatches == 2)
        #expect(after.lookupBlocksRead - before.lookupBlocksRead == UInt64(blocks.count))
    }

    @Test func fillCacheFalseReadsWithoutInsertingAndGetSharesTheCache() throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        guard let i = try (0..<1000).first(where: { try layered.blocksNeeded($0).count == 1 }) else {
            Issue.record("no key stored in a single table block")
            return
        }
        let key = ReadTestSupport.key(i)
        let noFill = ReadOptions(fillCache: false)
        let s0 = db.stats()
        #expect(try db.get(key, options: noFill) == layered.model[i])
        #expect(try db.multiGet([key, key], options: noFill) == [layered.model[i], layered.model[i]])
        let s1 = db.stats()
        #expect(s1.lookupReadBatches - s0.lookupReadBatches == 2)  // duplicates read once per call
        #expect(s1.blockCacheEntries == 0)

        #expect(try db.get(key) == layered.model[i])
        let s2 = db.stats()
        #expect(s2.lookupReadBatches - s1.lookupReadBatches == 1)
        #expect(s2.blockCacheEntries == 1)
        // A cached block also serves reads that do not fill the cache.
        #expect(try db.multiGet([key], options: noFill) == [layered.model[i]])
        #expect(try db.get(key) == layered.model[i])
        let s3 = db.stats()
        #expect(s3.lookupReadBatches == s2.lookupReadBatches)
        #expect(s3.blockCacheHits - s2.blockCacheHits == 2)
        #expect(s3.blockCacheHitRate > 0)
    }

    @Test func withoutBloomFiltersEveryRoundStillOneBatchAndAtMostOnePerTableVisited() throws {
        let layered = try LayeredDB(directReads: false, bloomBitsPerKey: 0)
        let db = layered.db
        let indices = Array(stride(from: 3, to: 1100, by: 34))
        var mostBlocks = 0
        for i in indices { mostBlocks = max(mostBlocks, try layered.blocksNeeded(i).count) }
        let before = db.stats()
        let values = try db.multiGet(indices.map(ReadTestSupport.key))
        let after = db.stats()
        #expect(answerDifferences(values, indices.map { layered.model[$0] }, keys: indices).isEmpty)
        let rounds = Int(after.lookupReadBatches - before.lookupReadBatches)
        #expect(rounds >= 1 && rounds <= mostBlocks, "\(rounds) rounds, a key needs up to \(mostBlocks) blocks")
    }

    @Test func smallCacheEvictsButAnswersStayRight() throws {
        // 16 KiB per shard: a few blocks each (a block is charged its
        // allocation, size class included).
        let layered = try LayeredDB(directReads: true, blockCacheSizeBytes: 256 << 10)
        let db = layered.db
        let keys = (0..<LayeredDB.keySpace).map(ReadTestSupport.key)
        let all = Array(0..<LayeredDB.keySpace)
        for _ in 0..<2 {
            #expect(answerDifferences(try db.multiGet(keys), all.map { layered.model[$0] }, keys: all).isEmpty)
        }
        let stats = db.stats()
        #expect(stats.blockCacheUsageBytes <= 256 << 10)
        #expect(stats.blockCacheEvictions > 0)
    }
}
