import Glibc
import Testing
@testable import RingKV

/// The async overloads (API/DB+Async.swift): same answers as the sync
/// methods, writes visible to sync reads and durable, `entries` equal to
/// `scan`, cancellation before submission.
@Suite struct AsyncAPITests {
    @Test(arguments: [false, true])
    func asyncGetAndMultiGetEqualSyncAnswersAcrossLevels(directReads: Bool) async throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        // A tiny cache: most async reads go to the ring.
        let layered = try LayeredDB(directReads: directReads, blockCacheSizeBytes: 16 << 10)
        let db = layered.db
        for options in [ReadOptions(), ReadOptions(snapshot: layered.snapshot), ReadOptions(fillCache: false)] {
            let indices = (0..<300).map { _ in Int(rng.next() % UInt64(LayeredDB.keySpace)) }
            let keys = indices.map(ReadTestSupport.key)
            let sync = try Sync.multiGet(db, keys, options: options)
            let batched = try await db.multiGet(keys, options: options)
            #expect(batched == sync, "seed \(seed): async multiGet differs from multiGet")
            for (i, key) in keys.enumerated().prefix(100) {
                let one = try await db.get(key, options: options)
                #expect(one == sync[i], "seed \(seed): async get of key \(indices[i]) differs")
            }
        }
        let empty = try await db.multiGet([])
        #expect(empty.isEmpty)
        #expect(db.stats().lookupReadBatches > 0)
    }

    @Test func asyncWritesAreVisibleToSyncReads() async throws {
        let dir = try TempDir("ringkv-async")
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        try await db.put(bytes("a"), bytes("1"))
        try await db.put("b", "2")
        var batch = WriteBatch()
        batch.put(bytes("c"), bytes("3"))
        batch.delete(bytes("a"))
        try await db.write(batch)
        try await db.delete("b")
        #expect(try Sync.get(db, bytes("a")) == nil)
        #expect(try Sync.get(db, bytes("b")) == nil)
        #expect(try Sync.get(db, "c") == "3")
        let viaAsync: String? = try await db.get("c")
        #expect(viaAsync == "3")

        // Many concurrent async writers: every write lands (merged commits).
        let count = 2000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask { try await db.put(bytes("k\(i)"), bytes("v\(i)"), options: WriteOptions(sync: i % 100 == 0)) }
            }
            try await group.waitForAll()
        }
        for i in 0..<count { #expect(try Sync.get(db, bytes("k\(i)")) == bytes("v\(i)")) }
        #expect(db.stats().walGroups < UInt64(count) + 4, "async writes share groups")
    }

    /// An async deleteRange hides its keys from async and sync reads, in
    /// the memtable and after a flush (the tombstone then lives in a table
    /// and the keys in an older one), while a snapshot taken before still
    /// sees them; an inverted range throws.
    @Test func asyncDeleteRangeIsHonouredByAsyncReads() async throws {
        let dir = try TempDir("ringkv-async")
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        for i in 0..<100 { try await db.put(bytes("k\(100 + i)"), bytes("v\(i)")) }
        try await db.flush()
        let before = db.snapshot()
        try await db.deleteRange(from: "k120", to: "k150")
        for flushTombstone in [false, true] {
            if flushTombstone { try await db.flush() }
            for i in 0..<100 {
                let key = bytes("k\(100 + i)")
                let expected: [UInt8]? = (20..<50).contains(i) ? nil : bytes("v\(i)")
                let viaAsync = try await db.get(key)
                #expect(viaAsync == expected, "k\(100 + i), tombstone flushed: \(flushTombstone)")
                #expect(try Sync.get(db, key) == expected)
                let old = try await db.get(key, options: ReadOptions(snapshot: before))
                #expect(old == bytes("v\(i)"))
            }
            let keys = (0..<100).map { bytes("k\(100 + $0)") }
            let batched = try await db.multiGet(keys)
            #expect(batched.compactMap { $0 }.count == 70)
            var seen = 0
            for try await _ in db.entries(from: bytes("k100"), to: bytes("k200")) { seen += 1 }
            #expect(seen == 70)
        }
        await #expect(throws: DBError.self) { try await db.deleteRange(from: "k9", to: "k1") }
        try Sync.close(db)
    }

    @Test func asyncSyncedWriteSurvivesReopen() async throws {
        let dir = try TempDir("ringkv-async")
        do {
            let db = try await DB(path: dir.sub("db"), options: openOptions())
            try await db.put(bytes("durable"), bytes("yes"), options: WriteOptions(sync: true))
            var batch = WriteBatch()
            batch.put(bytes("b1"), bytes("x"))
            try await db.write(batch, options: WriteOptions(sync: true))
            #expect(db.stats().walSyncedGroups >= 2)
            try Sync.close(db)
        }
        let reopened = try await DB(path: dir.sub("db"), options: openOptions())
        #expect(try Sync.get(reopened, bytes("durable")) == bytes("yes"))
        #expect(try Sync.get(reopened, bytes("b1")) == bytes("x"))
    }

    @Test func invalidAndReadOnlyAsyncWritesThrow() async throws {
        let dir = try TempDir("ringkv-async")
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        let huge = [UInt8](repeating: 1, count: Options.maxKeySizeBytes + 1)
        await #expect(throws: DBError.self) { try await db.put(huge, bytes("v")) }
        try Sync.close(db)
        await #expect(throws: DBError.self) { try await db.put(bytes("k"), bytes("v")) }
        await #expect(throws: DBError.self) { _ = try await db.get(bytes("k")) }
    }

    @Test func cancelledTasksThrowCancellationErrorAndWriteNothing() async throws {
        let dir = try TempDir("ringkv-async")
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        try Sync.put(db, bytes("there"), bytes("1"))
        let write = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await db.put(bytes("never"), bytes("x"))
        }
        await #expect(throws: CancellationError.self) { try await write.value }
        let read = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await db.get(bytes("there"))
        }
        await #expect(throws: CancellationError.self) { _ = try await read.value }
        let scan = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            for try await _ in db.entries() {}
        }
        await #expect(throws: CancellationError.self) { try await scan.value }
        #expect(try Sync.get(db, bytes("never")) == nil)
    }

    @Test func entriesYieldExactlyWhatScanDoesUnderConcurrentWrites() async throws {
        let seed = testSeed()
        let layered = try LayeredDB(directReads: false, blockCacheSizeBytes: 64 << 10)
        let db = layered.db
        let snapshot = db.snapshot()
        let options = ReadOptions(snapshot: snapshot)
        let want = try Sync.scan(db, options: options)
        let bounded = try Sync.scan(db, from: ReadTestSupport.key(200), to: ReadTestSupport.key(700), options: options)
        // A writer changes the keys the scans cover while they run.
        let writer = Task.detached {
            var rng = SeededRandom(seed: seed)
            for n in 0..<3000 {
                let i = Int(rng.next() % UInt64(LayeredDB.keySpace))
                if n % 3 == 0 { try db.delete(ReadTestSupport.key(i)) } else { try db.put(ReadTestSupport.key(i), bytes("new\(n)")) }
                if n == 1500 { try db.flush() }
            }
        }
        var got: [(key: [UInt8], value: [UInt8])] = []
        for try await row in db.entries(options: options) { got.append(row) }
        var gotBounded: [(key: [UInt8], value: [UInt8])] = []
        for try await (key, value) in db.entries(from: ReadTestSupport.key(200), to: ReadTestSupport.key(700),
                                                 options: options) {
            gotBounded.append((key, value))
        }
        try await writer.value
        #expect(got.count == want.count, "seed \(seed)")
        #expect(got.map(\.key) == want.map(\.key) && got.map(\.value) == want.map(\.value), "seed \(seed)")
        #expect(gotBounded.map(\.key) == bounded.map(\.key) && gotBounded.map(\.value) == bounded.map(\.value),
                "seed \(seed)")
        #expect(!bounded.isEmpty)
    }

    @Test func entriesStopReadingWhenTheLoopBreaks() async throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        let total = try Sync.scan(db).count
        #expect(total > 2 * DBEntries.maxChunkRows)
        var seen = 0
        let sequence = db.entries()
        var iterator = sequence.makeAsyncIterator()
        while let _ = try await iterator.next() {
            seen += 1
            if seen == 3 { break }
        }
        // Only the first (small) chunk was read from the table iterators.
        #expect(iterator.cursor.rowsRead == DBEntries.firstChunkRows)
        // A full pass reads everything, in growing chunks.
        var all = 0
        for try await _ in db.entries() { all += 1 }
        #expect(all == total)
    }
}

/// The synchronous methods, called from async tests (where the compiler
/// picks the async overloads of the same names).
enum Sync {
    static func get(_ db: DB, _ key: [UInt8]) throws -> [UInt8]? { try db.get(key) }
    static func get(_ db: DB, _ key: String) throws -> String? { try db.get(key) }
    static func put(_ db: DB, _ key: [UInt8], _ value: [UInt8]) throws { try db.put(key, value) }
    static func delete(_ db: DB, _ key: [UInt8]) throws { try db.delete(key) }
    static func close(_ db: DB) throws { try db.close() }
    static func multiGet(_ db: DB, _ keys: [[UInt8]], options: ReadOptions) throws -> [[UInt8]?] {
        try db.multiGet(keys, options: options)
    }
    static func scan(_ db: DB, from: [UInt8] = [], to: [UInt8]? = nil,
                     options: ReadOptions = ReadOptions()) throws -> [(key: [UInt8], value: [UInt8])] {
        try db.scan(from: from, to: to, options: options)
    }
}
