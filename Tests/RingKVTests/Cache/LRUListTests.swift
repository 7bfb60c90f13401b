import Testing
@testable import RingKV

@Suite struct LRUListTests {
    @Test func evictsLeastRecentlyUsedFirstWhenBytesExceedCapacity() {
        var lru = LRUList<Int, String>(capacityBytes: 100)
        lru.insert(1, "a", chargeBytes: 40)
        lru.insert(2, "b", chargeBytes: 40)
        #expect(lru.get(1) == "a")  // 1 is now hotter than 2
        lru.insert(3, "c", chargeBytes: 40)  // 120 > 100: evict the coldest (2)
        #expect(lru.peek(2) == nil)
        #expect(lru.peek(1) == "a")
        #expect(lru.peek(3) == "c")
        #expect(lru.usageBytes == 80)
        #expect(lru.count == 2)
        #expect(lru.evictionCount == 1)
        #expect(lru.keysByRecency == [3, 1])
    }

    @Test func evictsAsManyEntriesAsNeededForALargeInsert() {
        var lru = LRUList<Int, Int>(capacityBytes: 100)
        for k in 0..<10 { lru.insert(k, k, chargeBytes: 10) }
        #expect(lru.usageBytes == 100)
        lru.insert(99, 99, chargeBytes: 35)  // must drop 0, 1, 2, 3
        #expect(lru.keysByRecency == [99, 9, 8, 7, 6, 5, 4])
        #expect(lru.usageBytes == 95)
        #expect(lru.evictionCount == 4)
    }

    @Test func replacingAnEntryUpdatesItsChargeAndRecency() {
        var lru = LRUList<String, Int>(capacityBytes: 100)
        lru.insert("x", 1, chargeBytes: 10)
        lru.insert("y", 2, chargeBytes: 10)
        lru.insert("x", 3, chargeBytes: 50)
        #expect(lru.usageBytes == 60)
        #expect(lru.count == 2)
        #expect(lru.keysByRecency == ["x", "y"])
        #expect(lru.peek("x") == 3)
        lru.insert("x", 4, chargeBytes: 5)
        #expect(lru.usageBytes == 15)
    }

    @Test func anEntryLargerThanTheCapacityIsNotKept() {
        var lru = LRUList<Int, Int>(capacityBytes: 100)
        lru.insert(1, 1, chargeBytes: 60)
        lru.insert(2, 2, chargeBytes: 101)
        #expect(lru.peek(2) == nil)
        #expect(lru.peek(1) == 1)  // nothing was evicted for it
        lru.insert(1, 5, chargeBytes: 500)  // an older value of the key goes
        #expect(lru.peek(1) == nil)
        #expect(lru.usageBytes == 0)
        #expect(lru.count == 0)
    }

    @Test func removeAndRemoveAllKeepAccountingAndReuseSlots() {
        var lru = LRUList<Int, Int>(capacityBytes: 1000)
        for k in 0..<20 { lru.insert(k, k, chargeBytes: k + 1) }
        lru.remove(5)
        lru.remove(5)  // absent: no effect
        lru.removeAll { $0 % 2 == 0 }
        let left = (0..<20).filter { $0 % 2 == 1 && $0 != 5 }
        #expect(lru.count == left.count)
        #expect(lru.usageBytes == left.reduce(0) { $0 + $1 + 1 })
        #expect(lru.keysByRecency == left.reversed())
        for k in 100..<110 { lru.insert(k, k, chargeBytes: 1) }
        #expect(lru.count == left.count + 10)
        #expect(lru.keysByRecency.prefix(3) == [109, 108, 107])
    }

    @Test func randomOperationsMatchASimpleModel() {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let capacity = 500
        var lru = LRUList<Int, Int>(capacityBytes: capacity)
        // Model: keys most recent first, with their value and charge.
        var model: [(key: Int, value: Int, charge: Int)] = []
        for step in 0..<5000 {
            let key = Int(rng.next() % 64)
            switch rng.next() % 3 {
            case 0:
                let got = lru.get(key)
                if let i = model.firstIndex(where: { $0.key == key }) {
                    let e = model.remove(at: i)
                    model.insert(e, at: 0)
                    #expect(got == e.value, "seed \(seed) step \(step)")
                } else {
                    #expect(got == nil, "seed \(seed) step \(step)")
                }
            case 1:
                let charge = Int(rng.next() % 80)
                let value = step
                lru.insert(key, value, chargeBytes: charge)
                model.removeAll { $0.key == key }
                model.insert((key, value, charge), at: 0)
                while model.reduce(0, { $0 + $1.charge }) > capacity { model.removeLast() }
            default:
                lru.remove(key)
                model.removeAll { $0.key == key }
            }
            #expect(lru.keysByRecency == model.map(\.key), "seed \(seed) step \(step)")
            #expect(lru.usageBytes == model.reduce(0) { $0 + $1.charge }, "seed \(seed) step \(step)")
            #expect(lru.usageBytes <= capacity)
        }
    }
}
