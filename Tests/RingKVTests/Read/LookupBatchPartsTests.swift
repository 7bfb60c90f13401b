import Testing
@testable import RingKV

/// The parts a batched lookup (`multiGet`) is built from: the abbreviated
/// key sort and the block → span table. Randomized: prints its seed,
/// RINGKV_SEED replays.
@Suite struct LookupBatchPartsTests {
    /// Keys made to defeat an 8-byte abbreviation: empty and short keys,
    /// zero bytes (padding looks like them), long shared prefixes, and
    /// repeats.
    static func trickyKeys(_ count: Int, _ rng: inout SeededRandom) -> [[UInt8]] {
        let stems: [[UInt8]] = [[], [0], [0, 0], [1], [0xFF], Array("user".utf8), Array("user1234".utf8),
                                Array("user12345678".utf8), [UInt8](repeating: 0, count: 9)]
        return (0..<count).map { _ in
            var key = stems[Int(rng.next() % UInt64(stems.count))]
            for _ in 0..<Int(rng.next() % 4) { key.append([0, 1, 0x7F, 0x80, 0xFF][Int(rng.next() % 5)]) }
            return key
        }
    }

    @Test(arguments: [1, 2, 5, 31, 32, 63, 64, 65, 300])
    func abbreviatedSortOrdersLikeTheBytesAndGroupsEqualKeys(count: Int) {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        for _ in 0..<50 {
            let keys = Self.trickyKeys(count, &rng)
            let order = LookupKeyOrder.ascending(keys)
            #expect(order.count == keys.count && Set(order.map(\.index)) == Set(keys.indices), "seed \(seed)")
            let sorted = order.map { keys[$0.index] }
            let expected = keys.sorted { compareBytes($0, $1) < 0 }
            #expect(sorted == expected, "seed \(seed), \(count) keys: \(keys)")
            for n in order.indices.dropFirst() {
                #expect(LookupKeyOrder.equal(order[n - 1], order[n], in: keys) == (sorted[n - 1] == sorted[n]),
                        "seed \(seed): neighbours \(sorted[n - 1]) and \(sorted[n])")
            }
        }
    }

    @Test func spanTableFindsEveryBlockItRecordedAcrossGrowthAndNothingElse() {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        var table = BlockSpanTable(expected: 4)
        var recorded: [BlockCacheKey: Int] = [:]
        for span in 0..<1_000 {
            // Few files, offsets that collide often in the low bits.
            let key = BlockCacheKey(fileNumber: rng.next() % 5, blockOffset: (rng.next() % 400) * 4096)
            if recorded[key] != nil {
                #expect(table.span(of: key) == recorded[key], "seed \(seed)")
                continue
            }
            #expect(table.span(of: key) == nil, "seed \(seed): \(key) found before it was recorded")
            table.insert(key, span: span)
            recorded[key] = span
        }
        for (key, span) in recorded { #expect(table.span(of: key) == span, "seed \(seed): \(key)") }
        #expect(table.span(of: BlockCacheKey(fileNumber: 99, blockOffset: 0)) == nil)
    }
}
