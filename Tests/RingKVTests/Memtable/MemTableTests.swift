import Testing
@testable import RingKV

private typealias T = MemTableTestSupport

@Suite struct MemTableTests {
    @Test func getReturnsTheNewestVersionVisibleAtTheSnapshot() {
        let m = MemTable()
        T.add(m, 5, .value, T.bytes("k"), T.bytes("v5"))
        T.add(m, 1, .value, T.bytes("k"), T.bytes("v1"))
        T.add(m, 9, .value, T.bytes("k"), T.bytes("v9"))
        T.add(m, 3, .value, T.bytes("j"), T.bytes("other"))
        T.add(m, 4, .value, T.bytes("l"), T.bytes("other"))

        #expect(T.get(m, T.bytes("k"), snapshot: 0) == .notFound)
        for snapshot: SequenceNumber in 1...4 { #expect(T.get(m, T.bytes("k"), snapshot: snapshot) == .found(T.bytes("v1"))) }
        for snapshot: SequenceNumber in 5...8 { #expect(T.get(m, T.bytes("k"), snapshot: snapshot) == .found(T.bytes("v5"))) }
        #expect(T.get(m, T.bytes("k"), snapshot: 9) == .found(T.bytes("v9")))
        #expect(T.get(m, T.bytes("k"), snapshot: InternalKey.maxSequenceNumber) == .found(T.bytes("v9")))
        #expect(T.get(m, T.bytes("k"), snapshot: .max) == .found(T.bytes("v9")))
        #expect(T.get(m, T.bytes("j"), snapshot: 2) == .notFound)
        #expect(T.get(m, T.bytes("absent")) == .notFound)
        #expect(m.entryCount == 5)
    }

    @Test func deletionHidesOlderValuesButNotNewerOnes() {
        let m = MemTable()
        T.add(m, 1, .value, T.bytes("k"), T.bytes("a"))
        T.add(m, 2, .deletion, T.bytes("k"))
        T.add(m, 3, .value, T.bytes("k"), T.bytes("b"))
        T.add(m, 4, .deletion, T.bytes("k"))
        T.add(m, 5, .value, T.bytes("k2"), T.bytes("untouched"))

        #expect(T.get(m, T.bytes("k"), snapshot: 1) == .found(T.bytes("a")))
        #expect(T.get(m, T.bytes("k"), snapshot: 2) == .deleted)
        #expect(T.get(m, T.bytes("k"), snapshot: 3) == .found(T.bytes("b")))
        #expect(T.get(m, T.bytes("k"), snapshot: 4) == .deleted)
        #expect(T.get(m, T.bytes("k")) == .deleted)
        #expect(T.get(m, T.bytes("k2")) == .found(T.bytes("untouched")))
    }

    @Test func keysSharingAPrefixAndTheEmptyKeyAreDistinct() {
        let m = MemTable()
        let keys = ["", "a", "ab", "abc", "abd", "b"]
        for (i, k) in keys.enumerated() { T.add(m, SequenceNumber(i + 1), .value, T.bytes(k), T.bytes("v" + k)) }
        for k in keys { #expect(T.get(m, T.bytes(k)) == .found(T.bytes("v" + k)), "key \(k)") }
        for k in ["aa", "abcd", "ab\u{0}", "c"] { #expect(T.get(m, T.bytes(k)) == .notFound, "key \(k)") }
        let userKeys = T.allEntries(m).map { Array($0.key.dropLast(InternalKey.trailerSize)) }
        #expect(userKeys == keys.map(T.bytes))
    }

    @Test func emptyValuesAndHugeKeysAndValuesRoundTrip() {
        // A small block size makes the 64 KiB key and the big value take
        // dedicated blocks.
        let m = MemTable(arenaBlockSizeBytes: 16 * 1024)
        let hugeKey = (0..<(64 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let bigValue = (0..<(300 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        T.add(m, 1, .value, T.bytes("empty"), [])
        T.add(m, 2, .value, hugeKey, T.bytes("huge-key"))
        T.add(m, 3, .value, T.bytes("big"), bigValue)
        T.add(m, 4, .value, hugeKey + [0], bigValue)

        // Checks are folded to Booleans first so a failure does not print
        // 64 KiB arrays.
        #expect(T.get(m, T.bytes("empty")) == .found([]))
        let hugeKeyFound = T.get(m, hugeKey) == .found(T.bytes("huge-key"))
        let hugeKeyWithBigValueFound = T.get(m, hugeKey + [0]) == .found(bigValue)
        let bigValueFound = T.get(m, T.bytes("big")) == .found(bigValue)
        let hugeKeyPrefixAbsent = T.get(m, Array(hugeKey.dropLast())) == .notFound
        #expect(hugeKeyFound)
        #expect(hugeKeyWithBigValueFound)
        #expect(bigValueFound)
        #expect(hugeKeyPrefixAbsent)
        #expect(m.approximateMemoryUsageBytes >= hugeKey.count * 2 + bigValue.count * 2)

        // hugeKey starts with byte 0, so it sorts before the text keys.
        let entries = T.allEntries(m)
        let userKeysInOrder = entries.map { Array($0.key.dropLast(InternalKey.trailerSize)) }
        let keysSorted = userKeysInOrder == [hugeKey, hugeKey + [0], T.bytes("big"), T.bytes("empty")]
        let valuesMatch = entries.map(\.value) == [T.bytes("huge-key"), bigValue, bigValue, []]
        #expect(keysSorted)
        #expect(valuesMatch)
    }

    @Test func iteratorOrderEqualsSortedReferenceAndSeekLandsOnFirstKeyAtOrAfterTarget() {
        let seed = T.seed()
        var rng = T.Random(seed: seed)
        let m = MemTable(arenaBlockSizeBytes: 8192, seed: rng.next())
        var reference: [(key: [UInt8], value: [UInt8])] = []
        let alphabet: [UInt8] = Array("abc".utf8) + [0, 255]
        var sequences = Array(SequenceNumber(1)...SequenceNumber(3000))
        sequences.shuffle(using: &rng)  // inserts arrive out of sequence order
        for sequence in sequences {
            let key = (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let type: ValueType = Bool.random(using: &rng) ? .value : .deletion
            let value = type == .value ? (0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) } : []
            T.add(m, sequence, type, key, value)
            reference.append((InternalKey.make(key, sequence, type), value))
        }
        reference.sort { T.compareInternal($0.key, $1.key) < 0 }

        let it = m.makeIterator()
        it.seekToFirst()
        let all = T.drain(it)
        #expect(all.count == reference.count, "seed \(seed)")
        #expect(all.map(\.key) == reference.map(\.key), "seed \(seed)")
        #expect(all.map(\.value) == reference.map(\.value), "seed \(seed)")

        for _ in 0..<500 {
            let userKey = (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let sequence = SequenceNumber.random(in: 0...3001, using: &rng)
            let target = InternalKey.make(userKey, sequence, .value)
            let expected = reference.first { T.compareInternal($0.key, target) >= 0 }
            target.withUnsafeBytes { it.seek($0) }
            #expect(it.isValid == (expected != nil), "seed \(seed)")
            if let expected, it.isValid {
                #expect(Array(it.key) == expected.key, "seed \(seed)")
                #expect(Array(it.value) == expected.value, "seed \(seed)")
            }
        }

        // get agrees with the reference at random snapshots.
        for _ in 0..<500 {
            let userKey = (0..<Int.random(in: 0...6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let snapshot = SequenceNumber.random(in: 0...3001, using: &rng)
            let newest = reference.first {
                $0.key.count >= 8 && Array($0.key.dropLast(8)) == userKey
                    && InternalKey.unpackTrailer($0.key.withUnsafeBytes { InternalKey.trailer($0) }).sequence <= snapshot
            }
            let expected: MemTable.LookupResult
            if let newest {
                let type = InternalKey.unpackTrailer(newest.key.withUnsafeBytes { InternalKey.trailer($0) }).type
                expected = type == ValueType.deletion.rawValue ? .deleted : .found(newest.value)
            } else {
                expected = .notFound
            }
            #expect(T.get(m, userKey, snapshot: snapshot) == expected, "seed \(seed)")
        }
    }

    @Test func emptyMemTableIteratesNothing() {
        let m = MemTable()
        let it = m.makeIterator()
        #expect(!it.isValid)
        it.seekToFirst()
        #expect(!it.isValid)
        InternalKey.make(T.bytes("x"), 1, .value).withUnsafeBytes { it.seek($0) }
        #expect(!it.isValid)
        #expect(T.get(m, T.bytes("x")) == .notFound)
        #expect(m.entryCount == 0)
    }

    @Test func iteratorKeepsTheMemTableAndItsBytesAlive() {
        var m: MemTable? = MemTable()
        for i in 0..<100 { T.add(m!, SequenceNumber(i + 1), .value, T.bytes("key\(i)"), T.bytes("value\(i)")) }
        let it = m!.makeIterator()
        weak let weakMemTable = m
        m = nil
        #expect(weakMemTable != nil)
        it.seekToFirst()
        let entries = T.drain(it)
        #expect(entries.count == 100)
        #expect(entries.allSatisfy { Array($0.value.dropFirst(5)) == Array($0.key.dropFirst(3).dropLast(8)) })
    }

    /// Values up to `inlineValueMaxBytes` live in the node, longer ones in
    /// the value arena: both sides of the boundary read back, by get and
    /// by iteration, and a node with its value apart is small.
    @Test func valuesOnBothSidesOfTheInlineLimitRoundTrip() {
        let m = MemTable(arenaBlockSizeBytes: 4096)
        let limit = MemTableEntry.inlineValueMaxBytes
        let sizes = [0, 1, limit - 1, limit, limit + 1, limit + 2, 1000, 5000]
        func value(_ i: Int, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ i &* 31) } }
        for (i, size) in sizes.enumerated() {
            T.add(m, SequenceNumber(i + 1), .value, T.bytes("k\(i)"), value(i, size))
        }
        for (i, size) in sizes.enumerated() {
            #expect(T.get(m, T.bytes("k\(i)")) == .found(value(i, size)), "value of \(size) bytes")
        }
        #expect(T.allEntries(m).map(\.value) == sizes.enumerated().map { value($0.offset, $0.element) })
        #expect(MemTableEntry.encodedSizeBytes(userKeyBytes: 24, valueBytes: 1000) == 1 + 32 + 2 + 8)
        #expect(MemTableEntry.encodedSizeBytes(userKeyBytes: 24, valueBytes: limit) == 1 + 32 + 1 + limit)
    }

    @Test func memoryUsageGrowsWithTheDataAdded() {
        let m = MemTable(arenaBlockSizeBytes: 4096)
        let before = m.approximateMemoryUsageBytes
        let value = [UInt8](repeating: 7, count: 100)
        for i in 0..<1000 { T.add(m, SequenceNumber(i + 1), .value, T.bytes("key\(i)"), value) }
        #expect(m.entryCount == 1000)
        #expect(m.approximateMemoryUsageBytes >= before + 1000 * 100)
        #expect(m.approximateMemoryUsageBytes < before + 1000 * 200)
        #expect(MemTable.arenaBlockSizeBytes(forWriteBufferSizeBytes: 64 << 20) == 1 << 20)
        #expect(MemTable.arenaBlockSizeBytes(forWriteBufferSizeBytes: 64 << 10) == 8192)
        #expect(MemTable.arenaBlockSizeBytes(forWriteBufferSizeBytes: 1000) == 4096)
    }
}
