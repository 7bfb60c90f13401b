import Synchronization
import Testing
@testable import RingKV

/// `DB.withValue(forKey:options:_:)`: the value lent where it lies, the
/// same answers as `get`, for every place a value can come from.
@Suite struct WithValueTests {
    /// Copies what `withValue` lends (nil: absent), and checks that the
    /// closure ran exactly when the key was present.
    static func read(_ db: DB, _ key: [UInt8], _ options: ReadOptions = ReadOptions()) throws -> [UInt8]? {
        var calls = 0
        let copy: [UInt8]? = try db.withValue(forKey: key, options: options) { bytes in
            calls += 1
            return Array(bytes)
        }
        #expect(calls == (copy == nil ? 0 : 1))
        return copy
    }

    @Test(arguments: [(false, true), (true, true), (false, false), (true, false)])
    func answersAsGetAcrossMemtableLevelsDeletesAndSnapshots(directReads: Bool, fillCache: Bool) throws {
        let layered = try LayeredDB(directReads: directReads)
        let db = layered.db
        let options = ReadOptions(fillCache: fillCache)
        for i in 0..<LayeredDB.keySpace {
            let key = ReadTestSupport.key(i)
            #expect(try Self.read(db, key, options) == layered.model[i], "key \(i)")
            #expect(try db.get(key, options: options) == layered.model[i], "key \(i)")
            let atSnapshot = ReadOptions(snapshot: layered.snapshot, fillCache: fillCache)
            #expect(try Self.read(db, key, atSnapshot) == layered.snapshotModel[i], "key \(i) at the snapshot")
        }
        // The closure's result is returned as is.
        let n: Int? = try db.withValue(forKey: ReadTestSupport.key(1)) { (bytes: UnsafeRawBufferPointer) in bytes.count }
        #expect(n == layered.model[1]?.count)
    }

    @Test func memtableValueIsLentWithoutReadingATable() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(Array("k".utf8), Array("in the memtable".utf8))
        try db.delete(Array("gone".utf8))
        let before = db.stats()
        #expect(try Self.read(db, Array("k".utf8)) == Array("in the memtable".utf8))
        #expect(try Self.read(db, Array("gone".utf8)) == nil)
        #expect(try Self.read(db, Array("never".utf8)) == nil)
        #expect(db.stats().lookupBlocksRead == before.lookupBlocksRead)
    }

    @Test func cachedBlockIsServedWithoutARead() throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        // A key a table answers (not the memtable).
        guard let i = try (0..<1000).first(where: { try !layered.blocksNeeded($0).isEmpty && layered.model[$0] != nil })
        else {
            Issue.record("no key answered by a table")
            return
        }
        let key = ReadTestSupport.key(i)
        #expect(try Self.read(db, key) == layered.model[i])  // cold: reads and caches
        let warm = db.stats()
        #expect(try Self.read(db, key) == layered.model[i])
        let after = db.stats()
        #expect(after.lookupBlocksRead == warm.lookupBlocksRead, "a cached block needs no read")
        #expect(after.blockCacheHits > warm.blockCacheHits)
    }

    @Test func coldBlockWithoutFillingTheCacheIsReadEachTime() throws {
        let layered = try LayeredDB(directReads: true)
        let db = layered.db
        guard let i = try (0..<1000).first(where: { try layered.blocksNeeded($0).count == 1 && layered.model[$0] != nil })
        else {
            Issue.record("no key stored in a single table block")
            return
        }
        let key = ReadTestSupport.key(i)
        let noFill = ReadOptions(fillCache: false)
        let s0 = db.stats()
        #expect(try Self.read(db, key, noFill) == layered.model[i])
        #expect(try Self.read(db, key, noFill) == layered.model[i])
        let s1 = db.stats()
        #expect(s1.lookupBlocksRead - s0.lookupBlocksRead == 2)
        #expect(s1.blockCacheEntries == 0)
    }

    @Test func absentKeysNeverCallTheClosure() throws {
        let layered = try LayeredDB(directReads: false)
        for i in LayeredDB.keySpace..<(LayeredDB.keySpace + 50) {
            let called = try layered.db.withValue(forKey: ReadTestSupport.key(i)) { _ in true }
            #expect(called == nil)
        }
        #expect(try layered.db.withValue(forKey: []) { _ in true } == nil)
    }

    /// No lock is held while the closure runs: it may read and write the
    /// same database (this would deadlock otherwise).
    @Test func closureMayUseTheDatabase() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(Array("k".utf8), Array("v1".utf8))
        let seen: [UInt8]? = try db.withValue(forKey: Array("k".utf8)) { bytes in
            let before = Array(bytes)
            try db.put(Array("k".utf8), Array("v2".utf8))
            try db.flush()
            #expect(try db.get(Array("k".utf8)) == Array("v2".utf8))
            #expect(Array(bytes) == before, "the lent bytes stay as they were")
            return before
        }
        #expect(seen == Array("v1".utf8))
    }

    @Test func closureErrorsPassThrough() throws {
        struct Stop: Error {}
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(Array("k".utf8), Array("v".utf8))
        #expect(throws: Stop.self) { try db.withValue(forKey: Array("k".utf8)) { _ in throw Stop() } }
    }

    /// The block a value lies in stays alive for the whole closure, even
    /// when a compaction meanwhile replaces and deletes the table it came
    /// from and evicts its blocks.
    @Test func valueStaysValidWhileCompactionDeletesItsTable() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.blockCacheSizeBytes = 1 << 20
        let db = try DB(path: dir.sub("db"), options: options)
        let value = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for i in 0..<200 { try db.put(ReadTestSupport.key(i), value + [UInt8(i)]) }
        try db.flush()
        for i in 0..<200 where i % 2 == 0 { try db.put(ReadTestSupport.key(i), Array("new".utf8)) }
        try db.flush()
        let tablesBefore = Set(db.impl.versions.current.files.flatMap { $0.map(\.number) })

        let key = ReadTestSupport.key(101)  // odd: its value lives in the first table
        let intact: Bool? = try db.withValue(forKey: key) { bytes in
            let first = Array(bytes)
            let compaction = BackgroundThread.spawn { _ = try? db.compactRange() }
            compaction.join()
            // Push other blocks through the small cache too.
            for i in 0..<200 { _ = try? db.get(ReadTestSupport.key(i)) }
            return first == value + [101] && Array(bytes) == first
        }
        #expect(intact == true)
        let tablesAfter = Set(db.impl.versions.current.files.flatMap { $0.map(\.number) })
        #expect(tablesAfter.isDisjoint(with: tablesBefore), "the compaction replaced every table")
        #expect(try db.get(key) == value + [101])
    }

    /// Readers on several threads lend values while a writer overwrites
    /// them: every value seen is one that was written for that key.
    @Test func concurrentReadersSeeOnlyWrittenValues() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.memtableSizeBytes = 64 << 10
        let db = try DB(path: dir.sub("db"), options: options)
        for i in 0..<100 { try db.put(ReadTestSupport.key(i), ReadTestSupport.value(i, "v0")) }
        let allowed: [Set<[UInt8]>] = (0..<100).map { i in Set((0...5).map { ReadTestSupport.value(i, "v\($0)") }) }
        let wrong = Atomic<Int>(0)
        let readers = (0..<3).map { _ in
            BackgroundThread.spawn {
                for round in 0..<300 {
                    let i = round % 100
                    let ok = try? db.withValue(forKey: ReadTestSupport.key(i)) { bytes in allowed[i].contains(Array(bytes)) }
                    if ok != true { wrong.add(1, ordering: .relaxed) }
                }
            }
        }
        for round in 1...5 {
            for i in 0..<100 { try db.put(ReadTestSupport.key(i), ReadTestSupport.value(i, "v\(round)")) }
        }
        for r in readers { r.join() }
        #expect(wrong.load(ordering: .relaxed) == 0)
    }
}
