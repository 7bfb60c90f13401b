import Testing
@testable import RingKV

@Suite struct BlockTests {
    /// 1000 keys with long shared prefixes, two versions each.
    static func sampleEntries() -> [(key: [UInt8], value: [UInt8])] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        for i in 0..<500 {
            let user = Array("a/very/long/shared/prefix/".utf8) + TableTestSupport.userKey(i * 2)
            out.append((InternalKey.make(user, 1000, .value), Array("new-\(i)".utf8)))
            out.append((InternalKey.make(user, 10, .deletion), []))
        }
        return out
    }

    static func build(_ entries: [(key: [UInt8], value: [UInt8])], restartInterval: Int = 16) -> [UInt8] {
        var b = BlockBuilder(restartInterval: restartInterval)
        for e in entries {
            e.key.withUnsafeBytes { k in e.value.withUnsafeBytes { v in b.add(k, v) } }
        }
        return b.finish()
    }

    @Test func roundTripKeepsEveryEntryInOrder() throws {
        let entries = Self.sampleEntries()
        let block = try Block.make(copying: Self.build(entries))
        let got = try TableTestSupport.scan(block.makeIterator())
        #expect(got.count == entries.count)
        #expect(zip(got, entries).allSatisfy { $0.key == $1.key && $0.value == $1.value })
    }

    @Test func prefixCompressionShrinksKeysAndRestartsEverySixteenEntries() throws {
        let entries = Self.sampleEntries()
        let bytes = Self.build(entries)
        let rawKeyBytes = entries.reduce(0) { $0 + $1.key.count }
        #expect(bytes.count < rawKeyBytes / 2, "shared prefixes must not be stored again")
        let block = try Block.make(copying: bytes)
        #expect(block.layout.restartCount == (entries.count + 15) / 16)
        for r in 0..<block.layout.restartCount {
            let offset = try block.layout.restartPoint(r)
            #expect(bytes[offset] == 0, "a restart entry shares no key bytes")
        }
    }

    @Test func builderEstimateMatchesFinishedSizeAndResetStartsOver() {
        var b = BlockBuilder(restartInterval: 4)
        for e in Self.sampleEntries().prefix(37) {
            e.key.withUnsafeBytes { k in e.value.withUnsafeBytes { v in b.add(k, v) } }
        }
        let estimate = b.estimatedSizeBytes
        #expect(b.finish().count == estimate)
        b.reset()
        // BlockBuilder is noncopyable: read its properties into locals for #expect.
        let isEmpty = b.isEmpty, emptyEstimate = b.estimatedSizeBytes
        #expect(isEmpty)
        #expect(emptyEstimate == 8)
        #expect(b.finish() == [0, 0, 0, 0, 1, 0, 0, 0])
        // After reset the builder keeps its last key (the table builder reads
        // it) but must not prefix-compress the next block's first entry
        // against it: refilled, it equals a fresh builder's block.
        b.reset()
        var fresh = BlockBuilder(restartInterval: 4)
        for e in Self.sampleEntries().suffix(20) {
            e.key.withUnsafeBytes { k in e.value.withUnsafeBytes { v in b.add(k, v); fresh.add(k, v) } }
        }
        #expect(b.finish() == fresh.finish())
    }

    @Test func seekFindsExactKeysKeysBetweenAndPastTheEnd() throws {
        let entries = Self.sampleEntries()
        for interval in [1, 3, 16] {
            let block = try Block.make(copying: Self.build(entries, restartInterval: interval))
            let it = block.makeIterator()
            for (i, e) in entries.enumerated() {
                try e.key.withUnsafeBytes { try it.seek($0) }
                #expect(it.isValid && Array(it.key) == e.key, "exact seek \(i) interval \(interval)")
            }
            // Odd numbers sit between the even user keys: land on the next key's newest version.
            for i in stride(from: 1, to: 999, by: 50) {
                let user = Array("a/very/long/shared/prefix/".utf8) + TableTestSupport.userKey(i)
                let target = InternalKey.make(user, 5, .value)
                try target.withUnsafeBytes { try it.seek($0) }
                #expect(it.isValid && Array(it.key) == entries[(i + 1)].key)
            }
            // Between two versions of one key (seq 500 sorts after 1000, before 10).
            let mid = InternalKey.make(Array(entries[0].key.dropLast(8)), 500, .value)
            try mid.withUnsafeBytes { try it.seek($0) }
            #expect(it.isValid && Array(it.key) == entries[1].key)

            let before = InternalKey.make(Array("a".utf8), 1, .value)
            try before.withUnsafeBytes { try it.seek($0) }
            #expect(it.isValid && Array(it.key) == entries[0].key)

            let after = InternalKey.make(Array("z".utf8), 1, .value)
            try after.withUnsafeBytes { try it.seek($0) }
            #expect(!it.isValid)
        }
    }

    @Test func emptyBlockIteratesNothing() throws {
        let block = try Block.make(copying: Self.build([]))
        let it = block.makeIterator()
        try it.seekToFirst()
        #expect(!it.isValid)
        let target = InternalKey.make(Array("k".utf8), 1, .value)
        try target.withUnsafeBytes { try it.seek($0) }
        #expect(!it.isValid)
    }

    @Test func malformedRestartCountIsCorruptionNotATrap() {
        #expect(throws: DBError.self) { try Block.make(copying: [1, 2]) }
        #expect(throws: DBError.self) { try Block.make(copying: [0, 0, 0, 0, 9, 0, 0, 0]) }
        #expect(throws: DBError.self) { try Block.make(copying: [0, 0, 0, 0]) }
    }

    /// Random byte damage anywhere in a block must end in a thrown error or
    /// in some (possibly different) entries — never a crash or an overread.
    @Test func randomlyDamagedBlocksNeverTrap() throws {
        var rng = TableTestRNG()
        let good = Self.build(Array(Self.sampleEntries().prefix(200)))
        var errors = 0
        for round in 0..<3000 {
            var bytes = good
            for _ in 0...rng.below(4) { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            if round % 7 == 0 { bytes.removeLast(rng.below(bytes.count)) }
            do {
                let block = try Block.make(copying: bytes)
                let it = block.makeIterator()
                var steps = 0
                try it.seekToFirst()
                while it.isValid && steps < 10_000 {
                    _ = it.key.count + it.value.count
                    try it.next()
                    steps += 1
                }
                let target = InternalKey.make(Array("a/very/long/shared/prefix/key00000150".utf8), 7, .value)
                try target.withUnsafeBytes { try it.seek($0) }
            } catch let error as DBError {
                guard case .corruption = error else {
                    Issue.record("unexpected error \(error), seed \(rng.seed)")
                    return
                }
                errors += 1
            }
        }
        #expect(errors > 0, "damage must be detected at least sometimes (seed \(rng.seed))")
    }
}
