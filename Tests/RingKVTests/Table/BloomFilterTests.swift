import RingIO
import Testing
@testable import RingKV

@Suite struct BloomFilterTests {
    @Test func probeCountIsBitsTimesLn2ClampedToOneThroughThirty() {
        #expect(BloomFilter.probeCount(bitsPerKey: 10) == 7)
        #expect(BloomFilter.probeCount(bitsPerKey: 1) == 1)
        #expect(BloomFilter.probeCount(bitsPerKey: 100) == 30)
        #expect(BloomFilter.blockedProbeCount(bitsPerKey: 10) == 6)
        #expect(BloomFilter.blockedProbeCount(bitsPerKey: 1) == 1)
        #expect(BloomFilter.blockedProbeCount(bitsPerKey: 100) == 30)
    }

    /// The false positive rate of `encoded` over 100,000 keys it does not
    /// hold, after checking it holds every key it was built from.
    private func falsePositiveRate(_ encoded: [UInt8], keys n: Int) throws -> (BloomFilter, Double) {
        let filter = try encoded.withUnsafeBytes { raw in try BloomFilter(decoding: raw) }
        var falseNegatives = 0
        for i in 0..<n where !Array("user\(i)".utf8).withUnsafeBytes({ filter.mayContain($0) }) { falseNegatives += 1 }
        #expect(falseNegatives == 0)
        var falsePositives = 0
        for i in 0..<n where Array("other\(i)".utf8).withUnsafeBytes({ filter.mayContain($0) }) { falsePositives += 1 }
        return (filter, Double(falsePositives) / Double(n))
    }

    private func builder(keys n: Int) -> BloomFilterBuilder {
        var builder = BloomFilterBuilder(bitsPerKey: 10)
        for i in 0..<n { Array("user\(i)".utf8).withUnsafeBytes { builder.add($0) } }
        return builder
    }

    @Test func tenBitsPerKeyGivesAboutOnePercentFalsePositivesAndNoFalseNegatives() throws {
        let n = 100_000
        let (filter, rate) = try falsePositiveRate(builder(keys: n).finish(), keys: n)
        #expect(filter.layout == .blocked && filter.probeCount == 6)
        print("blocked bloom: 10 bits/key, \(n) keys, false positive rate \(rate * 100) %")
        #expect(rate < 0.02)
        #expect(rate > 0.002, "a rate far below theory means the probes are not independent")
    }

    @Test func legacyFiltersOfOlderTablesStillAnswer() throws {
        let n = 100_000
        let (filter, rate) = try falsePositiveRate(builder(keys: n).finishLegacy(), keys: n)
        #expect(filter.layout == .legacy && filter.probeCount == 7)
        print("legacy bloom: 10 bits/key, \(n) keys, false positive rate \(rate * 100) %")
        #expect(rate < 0.02 && rate > 0.002)
    }

    @Test func everyProbeOfAKeyFallsInOne64ByteBlock() throws {
        // 1000 bits for one key: two blocks and 30 probes, all in one block.
        for i in 0..<200 {
            var one = BloomFilterBuilder(bitsPerKey: 1000)
            Array("key\(i)".utf8).withUnsafeBytes { one.add($0) }
            let encoded = one.finish()
            #expect(encoded.count == 2 * 64 + 2 && encoded.suffix(2) == [30, 0x80])
            let bits = Array(encoded.dropLast(2))
            let setBlocks = Set(bits.indices.filter { bits[$0] != 0 }.map { $0 / 64 })
            #expect(setBlocks.count == 1, "key\(i) set bits in blocks \(setBlocks)")
            let filter = try encoded.withUnsafeBytes { raw in try BloomFilter(decoding: raw) }
            #expect(Array("key\(i)".utf8).withUnsafeBytes { filter.mayContain($0) })
        }
    }

    @Test func filterBlockRejectsBadProbeCountsAndShortInput() {
        func decode(_ bytes: [UInt8]) throws { _ = try bytes.withUnsafeBytes { raw in try BloomFilter(decoding: raw) } }
        #expect(throws: DecodeError.self) { try decode([UInt8](repeating: 0, count: 9)) }
        #expect(throws: DecodeError.self) { try decode([UInt8](repeating: 0, count: 4)) }
        // Blocked: whole 64-byte blocks, then k in 1...30, then 0x80.
        #expect(throws: DecodeError.self) { try decode([UInt8](repeating: 0, count: 63) + [6, 0x80]) }
        #expect(throws: DecodeError.self) { try decode([UInt8](repeating: 0, count: 64) + [0, 0x80]) }
        #expect(throws: DecodeError.self) { try decode([UInt8](repeating: 0, count: 64) + [31, 0x80]) }
        #expect(throws: DecodeError.self) { try decode([6, 0x80]) }
        #expect(throws: Never.self) { try decode([UInt8](repeating: 0, count: 128) + [6, 0x80]) }
    }

    @Test func hashIsStableAcrossBuilds() {
        // Filters on disk depend on these exact values; they must never change.
        #expect(BloomHash.hash64(Array("".utf8)) == BloomHash.hash64([]))
        #expect(BloomHash.hash64(Array("a".utf8)) != BloomHash.hash64(Array("b".utf8)))
        #expect(BloomHash.hash64(Array("12345678".utf8)) != BloomHash.hash64(Array("123456789".utf8)))
        #expect(BloomHash.hash64(Array("ringkv".utf8)) == 13_763_201_475_357_548_734)
        #expect(BloomHash.hash64(Array("0123456789abcdef".utf8)) == 8_472_631_399_483_891_341)
    }

    /// A table written with the legacy filter (as by a format-3 database)
    /// opens, and its lookups find every key and skip absent ones.
    @Test func tablesWithTheLegacyFilterStillRead() throws {
        try TableTestSupport.withTemporaryDirectory { dir in
            let backend = try TableTestSupport.makeBackend()
            var options = TableBuilderOptions()
            options.filterLayout = .legacy
            let entries = (0..<3000).map { i in
                (key: InternalKey.make(TableTestSupport.userKey(i), 1, .value), value: Array("v\(i)".utf8))
            }
            let path = dir + "/000005.sst"
            try TableTestSupport.writeTable(path: path, entries: entries, backend: backend, options: options)
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            #expect(reader.filter?.layout == .legacy)
            for i in stride(from: 0, to: 3000, by: 7) {
                #expect(reader.mayContain(userKey: TableTestSupport.userKey(i)))
                #expect(try reader.get(userKey: TableTestSupport.userKey(i), snapshot: InternalKey.maxSequenceNumber) == .found(Array("v\(i)".utf8)))
            }
            let absent = (0..<2000).filter { !reader.mayContain(userKey: Array("nokey\($0)".utf8)) }.count
            #expect(absent > 1900)
        }
    }

    /// A bulk writer's filter is finished on two threads (each half of the
    /// keys into its own bits, then OR-ed): the same bytes as one thread's.
    @Test func aFinishSplitAcrossTwoThreadsWritesTheSameFilter() throws {
        for count in [BloomFilterBuilder.splitFinishMinimumKeys + 1] {
            var builder = BloomFilterBuilder(bitsPerKey: 10)
            var rng = SplitMix64(seed: UInt64(count))
            for _ in 0..<count {
                withUnsafeBytes(of: rng.next()) { builder.add($0) }
            }
            let one = builder.finish(splitAcrossThreads: false)
            let two = builder.finish(splitAcrossThreads: true)
            // A Bool, not `one == two` inside #expect: a failing expectation
            // would diff the two filters element by element, for minutes.
            let same = one == two
            #expect(same, "\(count) keys: the split finish set other bits")
            let filter = try one.withUnsafeBytes { try BloomFilter(decoding: $0) }
            #expect(filter.layout == .blocked)
        }
    }
}
