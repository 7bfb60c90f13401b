import Testing
@testable import RingKV

@Suite struct BlockIndexTests {
    /// Random sets, replacements, removals and lookups against a
    /// Dictionary, with keys crowded into few files and offsets (long probe
    /// runs, wrap-around, growth, backward-shift deletion).
    @Test func behavesLikeADictionary() {
        let seed = testSeed()
        var random = SeededRandom(seed: seed)
        var index = BlockIndex()
        var model: [BlockCacheKey: Int32] = [:]
        for step in 0..<60_000 {
            let key = BlockCacheKey(fileNumber: random.next() % 3, blockOffset: (random.next() % 2_000) * 4096)
            switch random.next() % 10 {
            case 0..<5:
                let slot = Int32(truncatingIfNeeded: random.next() % 100_000)
                index.set(key, slot)
                model[key] = slot
            case 5..<8:
                let removed = index.remove(key)
                #expect(removed == (model.removeValue(forKey: key) != nil), "seed \(seed) step \(step)")
            default:
                #expect(index.slot(for: key) == model[key], "seed \(seed) step \(step)")
            }
            #expect(index.count == model.count, "seed \(seed) step \(step)")
        }
        for (key, slot) in model { #expect(index.slot(for: key) == slot, "seed \(seed)") }
        for key in Array(model.keys) {
            let removed = index.remove(key)
            #expect(removed, "seed \(seed)")
        }
        #expect(index.isEmpty)
        #expect(index.slot(for: BlockCacheKey(fileNumber: 1, blockOffset: 0)) == nil)
    }
}
