import RingIO
import Testing
@testable import RingKV

/// Read-ahead changes how many reads an iterator makes, never what it returns.
@Suite struct TableReadAheadTests {
    /// One table of ~2.5 MiB in 4 KiB blocks (several compaction windows).
    struct BigTable {
        let dir: TempDir
        let backend: CountingBackend
        let reader: TableReader
        let blockCount: Int
        let entries: [(key: [UInt8], value: [UInt8])]
    }

    static func makeTable(direct: File.DirectIO = .preferred, blockSizeBytes: Int = 4096,
                          compression: BlockCompression = .lz4) throws -> BigTable {
        let dir = try TempDir("ringkv-readahead")
        let backend = CountingBackend(try URingBackend())
        let path = dir.sub("1.sst")
        let entries = ReadTestSupport.tableEntries(0..<20_000, tag: "big", firstSequence: 1)
        var options = TableBuilderOptions()
        options.blockSizeBytes = blockSizeBytes
        options.compression = compression
        try TableTestSupport.writeTable(path: path, entries: entries, backend: backend, options: options, direct: direct)
        let reader = try TableTestSupport.openTable(path: path, backend: backend, direct: direct, fileNumber: 1)
        return BigTable(dir: dir, backend: backend, reader: reader,
                        blockCount: Int(reader.properties.dataBlockCount), entries: entries)
    }

    static func scan(_ it: TableIterator) throws -> [(key: [UInt8], value: [UInt8])] {
        try TableTestSupport.scan(it)
    }

    static func same(_ a: [(key: [UInt8], value: [UInt8])], _ b: [(key: [UInt8], value: [UInt8])]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    @Test func everyReadAheadModeReturnsTheSameEntriesWithFarFewerReads() throws {
        let t = try Self.makeTable()
        #expect(t.blockCount > 500)
        #expect(t.reader.dataEndOffset > 2 << 20)

        t.backend.resetCounts()
        let plain = try Self.scan(t.reader.makeIterator(readAhead: .none))
        #expect(Self.same(plain, t.entries))
        #expect(t.backend.readBatchCalls == t.blockCount)

        t.backend.resetCounts()
        let adaptive = try Self.scan(t.reader.makeIterator(readAhead: .adaptive))
        #expect(Self.same(adaptive, t.entries))
        // 2 single reads, then windows growing to 256 KiB.
        let adaptiveCalls = t.backend.readBatchCalls
        #expect(adaptiveCalls < t.blockCount / 20, "\(adaptiveCalls) reads for \(t.blockCount) blocks")

        t.backend.resetCounts()
        let compaction = try Self.scan(t.reader.makeIterator(readAhead: .compaction))
        #expect(Self.same(compaction, t.entries))
        let windows = Int((t.reader.dataEndOffset + (1 << 20) - 1) >> 20)
        #expect(t.backend.readBatchCalls <= windows + 1, "\(t.backend.readBatchCalls) reads, \(windows) MiB of blocks")
        // Each 1 MiB window goes out as several requests in one batch.
        #expect(t.backend.readRequests >= 4 * (t.backend.readBatchCalls - 1))
    }

    @Test func seeksAndShortScansWithReadAheadMatchPlainReads() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let t = try Self.makeTable()
        let cache = BlockCache(capacityBytes: 512 << 10)
        let iterators: [TableIterator] = [
            t.reader.makeIterator(readAhead: .adaptive),
            t.reader.makeIterator(cache: cache, readAhead: .adaptive),
            t.reader.makeIterator(cache: cache, fillCache: false, readAhead: .adaptive),
            t.reader.makeIterator(readAhead: .compaction),
        ]
        let plain = t.reader.makeIterator(readAhead: .none)
        for step in 0..<200 {
            let target = InternalKey.make(ReadTestSupport.key(Int(rng.next() % 20_500)), UInt64.max >> 8, .value)
            let moves = Int(rng.next() % 400)
            var want: [[UInt8]] = []
            try target.withUnsafeBytes { try plain.seek($0) }
            while plain.isValid && want.count <= moves {
                want.append(Array(plain.key) + Array(plain.value))
                try plain.next()
            }
            for (n, it) in iterators.enumerated() {
                var got: [[UInt8]] = []
                try target.withUnsafeBytes { try it.seek($0) }
                while it.isValid && got.count <= moves {
                    got.append(Array(it.key) + Array(it.value))
                    try it.next()
                }
                #expect(got == want, "seed \(seed) step \(step) iterator \(n)")
            }
        }
        #expect(cache.statistics.hits > 0)
    }

    @Test func adaptiveReadAheadStartsOnlyAfterTheCursorMovedIntoTwoConsecutiveBlocks() throws {
        let t = try Self.makeTable()
        let it = t.reader.makeIterator(readAhead: .adaptive)
        try it.seekToFirst()
        var blocksEntered = 1
        var previous = it.currentBlockHandle
        while it.isValid && blocksEntered < 3 {
            try it.next()
            if it.currentBlockHandle != previous {
                blocksEntered += 1
                previous = it.currentBlockHandle
                // First block, then the second: single reads. The third
                // (the second move in a row) opens a window.
                #expect(it.windowReads == (blocksEntered >= 3 ? 1 : 0), "entered \(blocksEntered) blocks")
            }
        }
        #expect(it.singleReads == 2)
        // A seek elsewhere restarts the count.
        let far = InternalKey.make(ReadTestSupport.key(15_000), UInt64.max >> 8, .value)
        try far.withUnsafeBytes { try it.seek($0) }
        #expect(it.singleReads == 3)
        #expect(it.windowReads == 1)
    }

    @Test func compactionReadAheadNeverTouchesTheBlockCache() throws {
        let t = try Self.makeTable()
        let cache = BlockCache(capacityBytes: 64 << 20)
        let rows = try Self.scan(t.reader.makeIterator(cache: cache, readAhead: .compaction))
        #expect(Self.same(rows, t.entries))
        let s = cache.statistics
        #expect(s.hits == 0 && s.misses == 0 && s.entryCount == 0)
    }

    @Test func adaptiveReadAheadFillsTheCacheOnlyWhenAskedAndSkipsCachedBlocks() throws {
        // Uncompressed 16 KiB blocks: a cached block leaves a gap of several
        // pages, which no request bridges.
        let t = try Self.makeTable(blockSizeBytes: 16 << 10, compression: .uncompressed)
        let cache = BlockCache(capacityBytes: 64 << 20)
        _ = try Self.scan(t.reader.makeIterator(cache: cache, fillCache: false))
        #expect(cache.statistics.entryCount == 0)

        // Cache every third block, then scan: those come from the cache and
        // the windows read only the others.
        let index = t.reader.indexBlock.makeIterator()
        try index.seekToFirst()
        var n = 0
        var cachedBytes = 0
        while index.isValid {
            let h = try t.reader.decodeIndexValue(index.value)
            if n % 3 == 0 {
                _ = try t.reader.block(h, cache: cache, fillCache: true)
                cachedBytes += Int(h.sizeWithTrailer)
            }
            n += 1
            try index.next()
        }
        let before = cache.statistics
        t.backend.resetCounts()
        let rows = try Self.scan(t.reader.makeIterator(cache: cache))
        #expect(Self.same(rows, t.entries))
        let after = cache.statistics
        #expect(after.hits - before.hits >= UInt64(t.blockCount / 3 - 2))
        #expect(after.entryCount == t.blockCount)
        // Skipped blocks are not read again (allow page rounding per request).
        #expect(t.backend.bytesRequested <= Int(t.reader.dataEndOffset) - cachedBytes + t.backend.readRequests * 8192,
                "\(t.backend.bytesRequested) B read in \(t.backend.readRequests) requests; \(cachedBytes) of \(t.reader.dataEndOffset) B cached")
    }

    @Test func directReadsWithReadAheadStayAligned() throws {
        let probe = try TempDir()
        guard !TableTestSupport.isOnTmpfs(probe.path) else { return }
        let t = try Self.makeTable(direct: .required)
        #expect(t.reader.file.isDirect)
        for mode in [ReadAhead.none, .adaptive, .compaction] {
            #expect(Self.same(try Self.scan(t.reader.makeIterator(readAhead: mode)), t.entries))
        }
    }
}
