import Testing
@testable import RingKV

/// The range tombstone's pieces on their own: the fragment index, the
/// range deletion block encoding, the write batch operation, the memtable,
/// and a table's range deletion block written and read back.
@Suite struct RangeTombstoneTests {
    static func t(_ start: String, _ end: String, _ sequence: SequenceNumber) -> RangeTombstone {
        RangeTombstone(start: bytes(start), end: bytes(end), sequence: sequence)
    }

    // MARK: - Index

    @Test func indexAnswersTheNewestVisibleCoveringTombstone() {
        let index = RangeTombstoneIndex([Self.t("b", "f", 10), Self.t("d", "k", 20), Self.t("x", "x", 99),
                                         Self.t("m", "p", 5)])
        func at(_ key: String, _ snapshot: SequenceNumber = .max) -> SequenceNumber {
            index.coveringSequence(bytes(key), atOrBelow: snapshot)
        }
        #expect(at("a") == 0)
        #expect(at("b") == 10, "start is inclusive")
        #expect(at("c") == 10)
        #expect(at("d") == 20 && at("e") == 20, "overlap: the newest")
        #expect(at("e", 15) == 10, "a snapshot below the newer one sees the older")
        #expect(at("e", 9) == 0)
        #expect(at("f") == 20 && at("j") == 20)
        #expect(at("k") == 0, "end is exclusive")
        #expect(at("m") == 5 && at("o\u{ff}") == 5 && at("p") == 0)
        #expect(at("x") == 0, "an empty range covers nothing")
        let hidden = Array("e".utf8).withUnsafeBytes { index.hides($0, sequence: 19, snapshot: .max) }
        #expect(hidden)
        #expect(RangeTombstoneIndex([]).isEmpty && RangeTombstoneIndex.empty.coveringSequence(bytes("a"), atOrBelow: 9) == 0)
    }

    @Test func indexMatchesABruteForceModel() {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        func key() -> [UInt8] { bytes(String(Int.random(in: 0..<40, using: &rng) + 10)) }
        for _ in 0..<50 {
            let tombstones = (0..<Int.random(in: 0..<12, using: &rng)).map { _ in
                RangeTombstone(start: key(), end: key(), sequence: UInt64.random(in: 1...30, using: &rng))
            }
            let index = RangeTombstoneIndex(tombstones)
            for k in 10..<50 {
                let userKey = bytes(String(k))
                let snapshot = UInt64.random(in: 0...31, using: &rng)
                let expected = tombstones.filter { t in
                    t.sequence <= snapshot && userKey.withUnsafeBytes { t.covers($0) }
                }.map(\.sequence).max() ?? 0
                #expect(index.coveringSequence(userKey, atOrBelow: snapshot) == expected, "seed \(seed)")
            }
        }
    }

    // MARK: - Block encoding

    @Test func blockRoundTripsInStorageOrder() throws {
        let tombstones = [Self.t("m", "z", 3), Self.t("a", "c", 7), Self.t("a", "b", 9)]
        let encoded = RangeTombstone.encodeBlock(tombstones)
        // version 1, count 3, then ("a","b",9) first: start ascending, newest first.
        #expect(Array(encoded.prefix(8)) == [1, 3, 1, 0x61, 1, 0x62, 9, 1])
        let decoded = try encoded.withUnsafeBytes { try RangeTombstone.decodeBlock($0) }
        #expect(decoded == tombstones.sorted(by: RangeTombstone.storageOrder))
    }

    @Test func damagedBlocksAreRejected() {
        func decode(_ raw: [UInt8]) -> String? {
            do {
                _ = try raw.withUnsafeBytes { try RangeTombstone.decodeBlock($0) }
                return nil
            } catch let error as DecodeError { return error.reason } catch { return "\(error)" }
        }
        #expect(decode([2, 0])?.contains("version") == true)
        #expect(decode([1, 1, 1, 0x62, 1, 0x61, 5])?.contains("start >= end") == true)
        #expect(decode([1, 2, 1, 0x62, 1, 0x63, 5, 1, 0x61, 1, 0x63, 5])?.contains("order") == true)
        #expect(decode([1, 1, 1, 0x61, 1, 0x62])?.contains("end of data") == true)
        #expect(decode([1, 0, 0])?.contains("after the last") == true)
        #expect(decode([1, 0]) == nil)
    }

    // MARK: - Write batch and memtable

    @Test func batchEncodesARangeDeletionAsOneOperation() throws {
        var batch = WriteBatch()
        batch.deleteRange(from: bytes("ab"), to: bytes("c"))
        #expect(batch.count == 1)
        let encoded = batch.encoded(sequence: 5)
        #expect(Array(encoded.dropFirst(WriteBatch.headerSize)) == [2, 2, 0x61, 0x62, 1, 0x63])
        var seen: [(ValueType, [UInt8], [UInt8])] = []
        try encoded.withUnsafeBytes { raw in try WriteBatch.forEach(raw) { seen.append(($1, Array($2), Array($3))) } }
        #expect(seen.count == 1 && seen[0].0 == .rangeDeletion && seen[0].1 == bytes("ab") && seen[0].2 == bytes("c"))
        try batch.validate()
        batch.deleteRange(from: bytes("z"), to: bytes("a"))
        #expect(throws: DBError.self) { try batch.validate() }
        batch.clear()
        try batch.validate()
    }

    @Test func memtableKeepsTombstonesApartFromItsEntries() throws {
        let memtable = MemTable()
        var batch = WriteBatch()
        batch.put(bytes("b"), bytes("1"))
        batch.deleteRange(from: bytes("a"), to: bytes("c"))
        batch.put(bytes("b"), bytes("2"))
        try batch.encoded(sequence: 10).withUnsafeBytes {
            _ = try MemTableInserter.apply($0, path: "test batch") { _ in memtable }
        }
        #expect(memtable.entryCount == 3)
        #expect(memtable.rangeTombstones.memoryUsageBytes == 2 + MemTableRangeTombstones.overheadBytes,
                "tombstones count towards the memtable's size")
        #expect(memtable.rangeTombstones.all == [Self.t("a", "c", 11)])
        #expect(bytes("b").withUnsafeBytes { memtable.get($0, snapshot: 20) } == .found(bytes("2")),
                "the skiplist holds only puts")
        #expect(bytes("b").withUnsafeBytes { memtable.rangeTombstones.coveringSequence($0, atOrBelow: 20) } == 11)
        #expect(bytes("b").withUnsafeBytes { memtable.rangeTombstones.coveringSequence($0, atOrBelow: 10) } == 0)
        #expect(bytes("c").withUnsafeBytes { memtable.rangeTombstones.coveringSequence($0, atOrBelow: 20) } == 0)
    }

    // MARK: - Table block

    static func writeTable(_ path: String, backend: any IOBackend, entries: [([UInt8], [UInt8])],
                           tombstones: [RangeTombstone]) throws -> TableProperties {
        let file = try File.open(path, [.readWrite, .create, .truncate], direct: .preferred)
        defer { try? file.close() }
        let builder = TableBuilder(file: file, backend: backend, options: TableBuilderOptions())
        for (key, value) in entries { try builder.add(key, value) }
        builder.addRangeTombstones(tombstones)
        return try builder.finish()
    }

    @Test func tableWritesAndReadsItsRangeDeletionBlock() throws {
        try TableTestSupport.withTemporaryDirectory { dir in
            let backend = try TableTestSupport.makeBackend()
            let withTombstones = dir + "/000001.sst"
            let properties = try Self.writeTable(withTombstones, backend: backend,
                                                 entries: [(InternalKey.make(bytes("k"), 5, .value), bytes("v"))],
                                                 tombstones: [Self.t("m", "q", 7), Self.t("a", "c", 3)])
            #expect(properties.smallestKey == InternalKey.make(bytes("a"), 3, .deletion))
            #expect(properties.largestKey == InternalKey.make(bytes("q"), 0, .deletion))
            #expect(properties.smallestSequence == 3 && properties.largestSequence == 7)
            let reader = try TableTestSupport.openTable(path: withTombstones, backend: backend)
            #expect(reader.footer.formatVersion == 2)
            #expect(reader.rangeTombstoneList == [Self.t("a", "c", 3), Self.t("m", "q", 7)])
            #expect(reader.rangeTombstones.coveringSequence(bytes("n"), atOrBelow: 10) == 7)
            try reader.verifyChecksums()

            let plain = dir + "/000002.sst"
            try TableTestSupport.writeTable(path: plain, entries: [(InternalKey.make(bytes("k"), 5, .value), bytes("v"))],
                                        backend: backend)
            let plainReader = try TableTestSupport.openTable(path: plain, backend: backend)
            #expect(plainReader.footer.formatVersion == 1 && plainReader.rangeTombstoneList.isEmpty,
                    "a table without range deletions keeps format version 1")
        }
    }

    @Test func tableOfTombstonesOnlyIsValid() throws {
        try TableTestSupport.withTemporaryDirectory { dir in
            let backend = try TableTestSupport.makeBackend()
            let path = dir + "/000003.sst"
            let properties = try Self.writeTable(path, backend: backend, entries: [], tombstones: [Self.t("a", "z", 4)])
            #expect(properties.entryCount == 0 && properties.rangeDeletionCount == 1)
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            #expect(reader.rangeTombstoneList == [Self.t("a", "z", 4)])
            #expect(try TableTestSupport.scan(reader.makeIterator()).isEmpty)
            try reader.verifyChecksums()
        }
    }
}
