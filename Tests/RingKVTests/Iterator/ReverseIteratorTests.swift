import Testing
import RingIO
@testable import RingKV

/// prev / seekToLast / seekForPrev and direction switches, per internal
/// iterator (block, memtable, table, level, merging), against the sorted
/// list of entries each holds.
@Suite struct ReverseIteratorTests {
    typealias Entry = InternalIteratorChecks.Entry

    /// Sorted internal entries: `count` user keys (every other index, so
    /// targets fall between keys too), some with two versions.
    static func entries(_ count: Int, valueBytes: Int = 20, start: Int = 0) -> [Entry] {
        var out: [Entry] = []
        for i in 0..<count {
            let user = TableTestSupport.userKey(start + i * 2)
            out.append((InternalKey.make(user, UInt64(1_000 + i), .value),
                        bytes("v\(i)-") + [UInt8](repeating: UInt8(i & 0xff), count: i % 3 == 0 ? valueBytes : 3)))
            if i % 5 == 0 { out.append((InternalKey.make(user, UInt64(10 + i), .deletion), [])) }
        }
        return out
    }

    static func add(_ e: Entry, to m: MemTable) {
        let (sequence, type) = e.key.withUnsafeBytes { InternalKey.unpackTrailer(InternalKey.trailer($0)) }
        MemTableTestSupport.add(m, sequence, type == 0 ? .deletion : .value, Array(e.key.dropLast(8)), e.value)
    }

    @Test(arguments: [1, 4, 16])
    func blockIteratorMovesBothWays(restartInterval: Int) throws {
        var rng = SeededRandom(seed: testSeed())
        let entries = BlockTests.sampleEntries()
        let block = try Block.make(copying: BlockTests.build(entries, restartInterval: restartInterval))
        try InternalIteratorChecks.walk(block.makeIterator(), entries, steps: 2_000, rng: &rng,
                                        "block restart \(restartInterval)")
        let empty = try Block.make(copying: BlockTests.build([]))
        try InternalIteratorChecks.walk(empty.makeIterator(), [], steps: 20, rng: &rng, "empty block")
    }

    @Test func memTableIteratorMovesBothWays() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let m = MemTable(arenaBlockSizeBytes: 64 << 10)
        var entries: [Entry] = []
        for e in Self.entries(3_000).shuffled(using: &rng) {
            Self.add(e, to: m)
            entries.append(e)
        }
        entries.sort { InternalIteratorChecks.compare($0.key, $1.key) < 0 }
        try InternalIteratorChecks.walk(m.makeIterator(), entries, steps: 3_000, rng: &rng, "memtable seed \(seed)")
        try InternalIteratorChecks.walk(MemTable(arenaBlockSizeBytes: 4096).makeIterator(), [], steps: 10,
                                        rng: &rng, "empty memtable")
    }

    @Test func tableIteratorMovesBothWaysAcrossBlocks() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let entries = Self.entries(4_000)
        try TableTestSupport.withTemporaryDirectory { dir in
            let backend = try TableTestSupport.makeBackend()
            try TableTestSupport.writeTable(path: dir + "/t.sst", entries: entries, backend: backend)
            let reader = try TableTestSupport.openTable(path: dir + "/t.sst", backend: backend)
            try InternalIteratorChecks.walk(reader.makeIterator(), entries, steps: 3_000, rng: &rng,
                                            "table seed \(seed)")
            try InternalIteratorChecks.walk(reader.makeIterator(readAhead: .none), entries, steps: 500, rng: &rng,
                                            "table no read-ahead seed \(seed)")
        }
    }

    @Test func mergingIteratorMovesBothWaysAndSwitchesDirection() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let all = Self.entries(3_000)
        let tables = (0..<3).map { _ in MemTable(arenaBlockSizeBytes: 64 << 10) }
        for e in all { Self.add(e, to: tables[Int.random(in: 0..<3, using: &rng)]) }
        let merged = MergingIterator(tables.map { $0.makeIterator() })
        try InternalIteratorChecks.walk(merged, all, steps: 4_000, rng: &rng, "merging seed \(seed)")
    }

    /// Three non-overlapping tables as one level, both ways; with bounds,
    /// tables wholly outside are never opened.
    @Test func levelIteratorMovesBothWaysAndOpensNoTableOutsideTheBounds() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        try TableTestSupport.withTemporaryDirectory { dir in
            let backend = try TableTestSupport.makeBackend()
            var files: [FileMetaData] = []
            var readers: [UInt64: TableReader] = [:]
            var all: [Entry] = []
            for t in 0..<3 {
                let entries = Self.entries(800, start: t * 10_000)
                let path = dir + "/\(t).sst"
                try TableTestSupport.writeTable(path: path, entries: entries, backend: backend)
                readers[UInt64(t)] = try TableTestSupport.openTable(path: path, backend: backend, fileNumber: UInt64(t))
                files.append(FileMetaData(number: UInt64(t), fileSizeBytes: 0, smallest: entries.first!.key,
                                          largest: entries.last!.key, smallestSequence: 0, largestSequence: 0))
                all += entries
            }
            var opened: [UInt64] = []
            func level(_ bounds: IterationBounds) -> LevelIterator {
                LevelIterator(files: files, bounds: bounds) { file in
                    opened.append(file.number)
                    return readers[file.number]!.makeIterator(bounds: bounds)
                }
            }
            try InternalIteratorChecks.walk(level(.unbounded), all, steps: 3_000, rng: &rng, "level seed \(seed)")

            // Upper bound inside table 1: forward from the start never opens table 2.
            let upper = TableTestSupport.userKey(10_000 + 400)
            opened = []
            let forward = level(IterationBounds(lower: nil, upper: upper))
            try forward.seekToFirst()
            while forward.isValid { try forward.next() }
            #expect(opened == [0, 1], "opened \(opened)")
            // Lower bound inside table 1: backward from the end never opens table 0.
            let lower = TableTestSupport.userKey(10_000 + 400)
            opened = []
            let backward = level(IterationBounds(lower: lower, upper: nil))
            try backward.seekToLast()
            while backward.isValid { try backward.prev() }
            #expect(opened == [2, 1], "opened \(opened)")
        }
    }

    /// A long backward scan reads windows of blocks (after two single
    /// block reads), not one block per read, and sees every entry.
    @Test func backwardScanReadsBlocksInWindows() throws {
        let entries = Self.entries(6_000, valueBytes: 60)
        try TableTestSupport.withTemporaryDirectory { dir in
            let backend = try TableTestSupport.makeBackend()
            try TableTestSupport.writeTable(path: dir + "/t.sst", entries: entries, backend: backend)
            let reader = try TableTestSupport.openTable(path: dir + "/t.sst", backend: backend)
            let it = reader.makeIterator()
            try it.seekToLast()
            var i = entries.count - 1
            while it.isValid {
                #expect(Array(it.key) == entries[i].key && Array(it.value) == entries[i].value, "entry \(i)")
                i -= 1
                try it.prev()
            }
            #expect(i == -1)
            #expect(it.singleReads <= TableIterator.sequentialTrigger + 1, "single reads \(it.singleReads)")
            #expect(it.windowReads >= 2 && it.blocksRead > 20 * it.windowReads / 4,
                    "\(it.windowReads) windows for \(it.blocksRead) blocks")
        }
    }

    /// With an upper bound, a forward table scan reads no data block whose
    /// keys all lie at or past it (the block holding the bound is the
    /// last one read); mirrored for the lower bound going backward.
    @Test func tableIteratorReadsNoBlockOutsideItsBounds() throws {
        let entries = Self.entries(6_000, valueBytes: 60)
        try TableTestSupport.withTemporaryDirectory { dir in
            let backend = try TableTestSupport.makeBackend()
            try TableTestSupport.writeTable(path: dir + "/t.sst", entries: entries, backend: backend)
            let reader = try TableTestSupport.openTable(path: dir + "/t.sst", backend: backend)
            // Which block holds each entry, from an unbounded walk.
            var blockOf: [Int] = []
            var offsets: [UInt64] = []
            let plain = reader.makeIterator(readAhead: .none)
            try plain.seekToFirst()
            while plain.isValid {
                let offset = plain.currentBlockHandle!.offset
                if offsets.last != offset { offsets.append(offset) }
                blockOf.append(offsets.count - 1)
                try plain.next()
            }
            #expect(offsets.count > 20, "the table must span many blocks (\(offsets.count))")

            let cut = entries.count / 2
            let bound = Array(entries[cut].key.dropLast(8))
            let blocksBelow = blockOf[cut] + 1  // blocks up to the one holding the bound
            for readAhead in [ReadAhead.none, .adaptive] {
                let it = reader.makeIterator(readAhead: readAhead, bounds: IterationBounds(lower: nil, upper: bound))
                try it.seekToFirst()
                var seen = 0
                while it.isValid, compareBytes(Array(InternalKey.userKey(it.key)), bound) < 0 {
                    seen += 1
                    try it.next()
                }
                while it.isValid { try it.next() }  // drain: must not load more blocks
                #expect(seen == cut)
                #expect(it.blocksRead <= blocksBelow, "\(readAhead): read \(it.blocksRead) of \(blocksBelow)")
                #expect(it.blocksRead >= blocksBelow - 1)
            }
            let blocksAbove = offsets.count - blockOf[cut]
            for readAhead in [ReadAhead.none, .adaptive] {
                let back = reader.makeIterator(readAhead: readAhead, bounds: IterationBounds(lower: bound, upper: nil))
                try back.seekToLast()
                var seen = 0
                while back.isValid {
                    if compareBytes(Array(InternalKey.userKey(back.key)), bound) >= 0 { seen += 1 }
                    try back.prev()
                }
                #expect(seen == entries.count - cut)
                #expect(back.blocksRead <= blocksAbove + 1 && back.blocksRead < offsets.count,
                        "\(readAhead) reverse read \(back.blocksRead) of \(blocksAbove)")
            }
        }
    }
}
