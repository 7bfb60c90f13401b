import Testing
@testable import RingKV

@Suite struct BloomFilterTests {
    @Test func probeCountIsBitsTimesLn2ClampedToOneThroughThirty() {
        #expect(BloomFilter.probeCount(bitsPerKey: 10) == 7)
        #expect(BloomFilter.probeCount(bitsPerKey: 1) == 1)
        #expect(BloomFilter.probeCount(bitsPerKey: 100) == 30)
    }

    @Test func tenBitsPerKeyGivesAboutOnePercentFalsePositivesAndNoFalseNegatives() throws {
        var builder = BloomFilterBuilder(bitsPerKey: 10)
        let n = 100_000
        for i in 0..<n { Array("user\(i)".utf8).withUnsafeBytes { builder.add($0) } }
        let encoded = builder.finish()
        let filter = try encoded.withUnsafeBytes { raw in try BloomFilter(decoding: raw) }
        #expect(filter.probeCount == 7)
        var falseNegatives = 0
        for i in 0..<n where !Array("user\(i)".utf8).withUnsafeBytes({ filter.mayContain($0) }) { falseNegatives += 1 }
        #expect(falseNegatives == 0)
        var falsePositives = 0
        for i in 0..<n where Array("other\(i)".utf8).withUnsafeBytes({ filter.mayContain($0) }) { falsePositives += 1 }
        let rate = Double(falsePositives) / Double(n)
        print("bloom: 10 bits/key, \(n) keys, false positive rate \(rate * 100) %")
        #expect(rate < 0.02)
        #expect(rate > 0.002, "a rate far below theory means the probes are not independent")
    }

    @Test func filterBlockRejectsBadProbeCountsAndShortInput() {
        #expect(throws: DecodeError.self) { try [UInt8](repeating: 0, count: 9).withUnsafeBytes { raw in _ = try BloomFilter(decoding: raw) } }
        #expect(throws: DecodeError.self) { try [UInt8](repeating: 0, count: 4).withUnsafeBytes { raw in _ = try BloomFilter(decoding: raw) } }
    }

    @Test func hashIsStableAcrossBuilds() {
        // Filters on disk depend on these exact values; they must never change.
        #expect(BloomHash.hash64(Array("".utf8)) == BloomHash.hash64([]))
        #expect(BloomHash.hash64(Array("a".utf8)) != BloomHash.hash64(Array("b".utf8)))
        #expect(BloomHash.hash64(Array("12345678".utf8)) != BloomHash.hash64(Array("123456789".utf8)))
        #expect(BloomHash.hash64(Array("ringkv".utf8)) == 13_763_201_475_357_548_734)
        #expect(BloomHash.hash64(Array("0123456789abcdef".utf8)) == 8_472_631_399_483_891_341)
    }
}
