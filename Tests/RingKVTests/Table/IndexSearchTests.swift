import Testing
@testable import RingKV

/// `IndexSearch` must pick exactly the entry the block's own binary search
/// picks, for any lookup key: before, between, on and after the entries,
/// with ties in the 8 bytes it keeps, keys of every length, and keys
/// outside the common prefix.
@Suite struct IndexSearchTests {
    static func block(_ userKeys: [[UInt8]], restartInterval: Int = 1) throws -> Block {
        var builder = BlockBuilder(restartInterval: restartInterval)
        for (i, user) in userKeys.enumerated() {
            let key = InternalKey.make(user, UInt64(1000 - i % 7), .value)
            let value: [UInt8] = [UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)]
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in builder.add(k, v) } }
        }
        return try Block.make(copying: builder.finish())
    }

    /// The entry index (restart slot) the cursor's seek lands on, or count.
    static func bySeek(_ block: Block, _ target: [UInt8]) throws -> Int {
        try block.withCursor { cursor in
            try target.withUnsafeBytes { try cursor.seek($0) }
            guard cursor.isValid else { return block.layout.restartCount }
            for i in 0..<block.layout.restartCount where try block.layout.restartPoint(i) == cursor.currentOffset {
                return i
            }
            Issue.record("seek landed off a restart point")
            return -1
        }
    }

    static func bySearch(_ block: Block, _ search: IndexSearch, _ target: [UInt8]) throws -> Int {
        try block.withCursor { cursor in
            try target.withUnsafeBytes { t in
                try search.firstEntry(atOrAfter: t) { (i: Int) throws(DecodeError) -> Int in
                    try cursor.seek(toRestart: i)
                    return InternalKey.compare(cursor.key, t)
                }
            }
        }
    }

    @Test func picksTheSameEntryAsTheBlockSearch() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        func randomKey(_ prefix: String) -> [UInt8] {
            var k = Array(prefix.utf8)
            // Long shared stretches make ties in the 8 kept bytes.
            if rng.next() % 3 == 0 { k += Array("0000000000".utf8) }
            for _ in 0..<(Int(rng.next() % 12)) { k.append(UInt8(ascii: "0") + UInt8(rng.next() % 4)) }
            return k
        }
        for prefix in ["user", "", "a"] {
            var keys = Set<[UInt8]>()
            while keys.count < 400 { keys.insert(randomKey(prefix)) }
            let sorted = keys.sorted { compareBytes($0, $1) < 0 }
            let block = try Self.block(sorted)
            let search = try #require(try withExtendedLifetime(block) { try IndexSearch(index: block.layout) })
            var targets = sorted + [[], Array("user".utf8), Array("us".utf8), Array("zzz".utf8), Array("a".utf8)]
            for _ in 0..<400 { targets.append(randomKey(prefix)) }
            for user in targets {
                for sequence: UInt64 in [0, 995, 1000, InternalKey.maxSequenceNumber] {
                    let target = InternalKey.make(user, sequence, .value)
                    #expect(try Self.bySearch(block, search, target) == Self.bySeek(block, target),
                            "key \(user) seq \(sequence) seed \(seed)")
                }
            }
        }
    }

    @Test func notBuiltWhenEntriesShareRestarts() throws {
        let keys = (0..<50).map { Array("k\(1000 + $0)".utf8) }
        let sparse = try Self.block(keys, restartInterval: 16)
        let dense = try Self.block(keys)
        let (fromSparse, fromDense) = try withExtendedLifetime((sparse, dense)) {
            (try IndexSearch(index: sparse.layout), try IndexSearch(index: dense.layout))
        }
        #expect(fromSparse == nil)
        #expect(fromDense != nil)
    }
}
