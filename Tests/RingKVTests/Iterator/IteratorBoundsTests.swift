import Testing
@testable import RingKV

/// Bounds save I/O at the DB level: `DBStats.iteratorBlocksRead` counts
/// the data blocks iterators read, and a bounded scan reads the blocks of
/// its range and no more, in both directions, where an unbounded one
/// stopped by hand at the same key reads ahead past it.
@Suite struct IteratorBoundsTests {
    static let records = 20_000

    static func key(_ i: Int) -> [UInt8] { bytes(String(format: "k%05d", i)) }

    /// Blocks the iterator made from `options` reads while `walk` runs.
    static func blocksRead(_ db: DB, _ options: ReadOptions, _ walk: (DBIterator) throws -> Void) throws -> UInt64 {
        let before = db.stats().iteratorBlocksRead
        let it = try db.makeIterator(options: options)
        try walk(it)
        return db.stats().iteratorBlocksRead - before
    }

    @Test func boundedScansReadOnlyTheBlocksOfTheirRange() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 1 << 20)
        options.targetFileSizeBytes = 1 << 20  // several L1 tables
        var rng = SeededRandom(seed: 7)
        do {
            let db = try DB(path: dir.sub("db"), options: options)
            for i in 0..<Self.records {
                // Incompressible, so every block holds about the same number of keys.
                try db.put(Self.key(i), (0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            try db.compactRange()
            #expect(db.stats().levels.dropFirst().reduce(0) { $0 + $1.files } >= 3)
            try db.close()
        }
        let db = try DB(path: dir.sub("db"), options: options)
        defer { try? db.close() }
        let cold = ReadOptions(fillCache: false)
        let tables = UInt64(db.stats().levels.reduce(0) { $0 + $1.files })
        let middle = Self.key(Self.records / 2)

        let all = try Self.blocksRead(db, cold) { it in
            try it.seekToFirst()
            while it.isValid { try it.next() }
        }
        #expect(all > 500, "the data must span many blocks (\(all))")

        var upperBounded = cold
        upperBounded.upperBound = middle
        var seen = 0
        let forward = try Self.blocksRead(db, upperBounded) { it in
            try it.seekToFirst()
            while it.isValid { seen += 1; try it.next() }
        }
        #expect(seen == Self.records / 2)
        #expect(forward <= all / 2 + tables + 1, "forward read \(forward) of \(all)")
        #expect(forward + tables + 1 >= all / 2, "forward read \(forward) of \(all)")

        // The same stop made by hand: read-ahead runs past it.
        let byHand = try Self.blocksRead(db, cold) { it in
            try it.seekToFirst()
            while it.isValid, compareBytes(it.key, middle) < 0 { try it.next() }
        }
        #expect(byHand > forward, "unbounded \(byHand) vs bounded \(forward)")

        var lowerBounded = cold
        lowerBounded.lowerBound = middle
        seen = 0
        let backward = try Self.blocksRead(db, lowerBounded) { it in
            try it.seekToLast()
            while it.isValid { seen += 1; try it.prev() }
        }
        #expect(seen == Self.records / 2)
        #expect(backward <= all / 2 + tables + 1, "backward read \(backward) of \(all)")

        // A ten-key range: the block (or two) holding it.
        let narrow = ReadOptions(fillCache: false, lowerBound: Self.key(5_000), upperBound: Self.key(5_010))
        for reverse in [false, true] {
            seen = 0
            let blocks = try Self.blocksRead(db, narrow) { it in
                if reverse { try it.seekToLast() } else { try it.seekToFirst() }
                while it.isValid { seen += 1; if reverse { try it.prev() } else { try it.next() } }
            }
            #expect(seen == 10)
            #expect(blocks <= 2, "reverse \(reverse): \(blocks) blocks for 10 keys")
        }
    }

    /// L0 tables (which overlap in general) wholly outside the bounds are
    /// not opened: a ten-key range inside one of four L0 tables reads one
    /// block, forward and backward.
    @Test func l0TablesOutsideTheBoundsAreNotRead() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 4 << 20)
        options.l0CompactionTrigger = 100
        options.l0SlowdownTrigger = 200
        options.l0StopTrigger = 300
        var rng = SeededRandom(seed: 8)
        do {
            let db = try DB(path: dir.sub("db"), options: options)
            for table in 0..<4 {
                for i in table * 2_000..<(table + 1) * 2_000 {
                    try db.put(Self.key(i), (0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) })
                }
                try db.flush()
            }
            #expect(db.stats().levels[0].files == 4)
            try db.close()
        }
        let db = try DB(path: dir.sub("db"), options: options)
        defer { try? db.close() }
        let narrow = ReadOptions(fillCache: false, lowerBound: Self.key(3_000), upperBound: Self.key(3_010))
        for reverse in [false, true] {
            var seen = 0
            let blocks = try Self.blocksRead(db, narrow) { it in
                if reverse { try it.seekToLast() } else { try it.seekToFirst() }
                while it.isValid { seen += 1; if reverse { try it.prev() } else { try it.next() } }
            }
            #expect(seen == 10)
            #expect(blocks == 1, "reverse \(reverse): \(blocks) blocks")
        }
    }
}
