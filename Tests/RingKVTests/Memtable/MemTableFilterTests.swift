import Testing
@testable import RingKV

private typealias T = MemTableTestSupport

@Suite struct MemTableFilterTests {
    /// Distinct, well-spread 64-bit hashes from a seeded PRNG.
    private static func hashes(_ count: Int, seed: UInt64) -> [UInt64] {
        var random = T.Random(seed: seed)
        return (0..<count).map { _ in random.next() }
    }

    @Test func everyAddedHashIsReported() {
        let seed = T.seed()
        // Roomy and saturated: neither may ever say "absent" wrongly.
        for bytes in [64 << 10, 64] {
            let filter = MemTableFilter(byteCount: bytes)
            let added = Self.hashes(20_000, seed: seed)
            for h in added { filter.add(hash: h) }
            #expect(added.allSatisfy { filter.mayContain(hash: $0) }, "seed \(seed), \(bytes) bytes")
        }
    }

    @Test func absentHashesAreMostlyRuledOut() {
        let seed = T.seed()
        // 10,000 keys in 64 KiB: about 52 bits per key.
        let filter = MemTableFilter(byteCount: 64 << 10)
        for h in Self.hashes(10_000, seed: seed) { filter.add(hash: h) }
        let others = Self.hashes(100_000, seed: seed ^ 0x5A5A_5A5A)
        let falsePositives = others.filter { filter.mayContain(hash: $0) }.count
        #expect(falsePositives < 1_000, "seed \(seed): \(falsePositives) of 100,000 absent hashes passed")
        // An empty filter rules out everything.
        let empty = MemTableFilter(byteCount: 4096)
        #expect(!others.contains { empty.mayContain(hash: $0) })
    }

    @Test func sizeIsAPowerOfTwoOfBlocksAndFollowsTheMemtable() {
        #expect(MemTableFilter(byteCount: 1).memoryBytes == 64)
        #expect(MemTableFilter(byteCount: 65).memoryBytes == 128)
        #expect(MemTableFilter(byteCount: 100_000).memoryBytes == 128 << 10)
        #expect(MemTableFilter.byteCount(forMemtableBytes: 64 << 20) == 1 << 20)
        #expect(MemTableFilter.byteCount(forMemtableBytes: 4096) == 64)
        #expect(MemTableFilter.byteCount(forMemtableBytes: 1 << 40) == 4 << 20)
        #expect(Options().makeMemTable().filterBytes == 1 << 20)
    }

    @Test func memtableAnswersAreTheSameWithAndWithoutTheFilter() {
        let seed = T.seed()
        var random = T.Random(seed: seed)
        let filtered = MemTable(filterBytes: 4096)
        let plain = MemTable()
        #expect(plain.filterBytes == 0 && filtered.filterBytes == 4096)
        var sequence: SequenceNumber = 0
        for _ in 0..<5_000 {
            let key = T.bytes("k\(random.next() % 3_000)")
            sequence += 1
            let type: ValueType = random.next() % 4 == 0 ? .deletion : .value
            let value = T.bytes("v\(sequence)")
            for m in [filtered, plain] { T.add(m, sequence, type, key, type == .value ? value : []) }
        }
        // Keys present (values, deletions) and absent, at every snapshot.
        for i in 0..<4_000 {
            let key = T.bytes("k\(i)")
            let snapshot = SequenceNumber(random.next() % (sequence + 1))
            let a = T.get(filtered, key, snapshot: snapshot)
            let b = T.get(plain, key, snapshot: snapshot)
            #expect(a == b, "seed \(seed): key k\(i) at \(snapshot): \(a) vs \(b)")
        }
    }
}
