import Glibc
import RingIO
import Testing
@testable import RingKV

/// What buffered table reads leave in the page cache: point reads only
/// their own pages (POSIX_FADV_RANDOM at open, no kernel read-ahead around
/// them), compaction inputs their next window ahead of the merge
/// (POSIX_FADV_WILLNEED). Counted with mincore after the table's pages
/// were dropped (its file was fsynced, so the pages are clean).
@Suite struct PageCacheAdviceTests {
    /// Drops the clean cached pages of `path`.
    static func dropPages(_ path: String) throws {
        let file = try File.open(path, .read)
        try file.advise(.dontNeed)
        try file.close()
    }

    private static func randomValue(_ rng: inout TableTestRNG) -> [UInt8] { rng.bytes(1000) }

    @Test func pointReadsOfABufferedTableBringInOnlyTheirOwnPages() throws {
        let dir = try TempDir()
        if TableTestSupport.isOnTmpfs(dir.path) { return }  // no page cache of its own to measure
        var rng = TableTestRNG(seedFromEnvironmentOr: 26)
        var db = try DB(path: dir.sub("db"), options: openOptions())
        for i in 0..<4000 { try db.put(compactionKey(i), Self.randomValue(&rng)) }
        try db.flush()
        let number = try #require(db.impl.versions.current.files[0].first?.number)
        try db.close()
        let path = FileNames.table(dir.sub("db"), number)
        try Self.dropPages(path)
        #expect(try residentPages(path, first: 0, count: 256).resident == 0)

        db = try DB(path: dir.sub("db"), options: openOptions())
        // Eight gets walking the first eight data blocks in file order (four
        // 1000-byte values per 4 KiB block): a sequential pattern the
        // kernel's read-ahead would extend by tens of pages.
        for i in stride(from: 0, to: 32, by: 4) { #expect(try db.get(compactionKey(i)) != nil) }
        let resident = try residentPages(path, first: 0, count: 256).resident
        #expect(resident > 0 && resident <= 16, "\(resident) of the first 256 pages resident after 8 block reads")
        try db.close()
    }

    @Test func bufferedCompactionInputsReadTheirNextWindowAhead() throws {
        try TableTestSupport.withTemporaryDirectory { dir in
            if TableTestSupport.isOnTmpfs(dir) { return }
            var rng = TableTestRNG(seedFromEnvironmentOr: 27)
            let path = dir + "/000009.sst"
            let entries = (0..<4000).map { i in
                (key: InternalKey.make(TableTestSupport.userKey(i), 1, .value), value: Self.randomValue(&rng))
            }
            let backend = try TableTestSupport.makeBackend()
            try TableTestSupport.writeTable(path: path, entries: entries, backend: backend, direct: .off)
            try Self.dropPages(path)
            // Opened as the table cache opens it: buffered, random access.
            let file = try File.open(path, .read)
            try file.advise(.random)
            let reader = try TableReader.open(file: file, fileNumber: 9, backend: backend)
            let it = reader.makeIterator(readAhead: .compaction)
            try it.seekToFirst()
            #expect(it.isValid)
            // The first window is [0, 1 MiB); the second, pages 256..<512,
            // was asked for before the merge reached it. mincore counts a
            // page once its read completed: wait for them (at most 5 s).
            var second = 0
            for _ in 0..<500 {
                second = try residentPages(path, first: 260, count: 240).resident
                if second >= 200 { break }
                usleep(10_000)
            }
            #expect(second >= 200, "\(second) of 240 pages of the next window resident")
            let beyond = try residentPages(path, first: 520, count: 240).resident
            #expect(beyond <= 8, "\(beyond) pages resident two windows ahead")
        }
    }
}
