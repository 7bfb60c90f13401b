import RingIO
import Testing
@testable import RingKV

/// A flush leaves out the versions of a key that a newer value or deletion
/// in the same memtable hides from every reader (`TableFiles.build`,
/// `CompactionEntryFilter.forFlush`), keeps what a live snapshot reads, and
/// keeps every tombstone (an older table may hold its key).
@Suite struct FlushHiddenVersionsTests {
    /// The entries of `db`'s newest L0 table: (user key, sequence, type).
    private func newestLevel0Entries(_ db: DB, _ dir: TempDir) throws -> [(String, UInt64, UInt8)] {
        let number = try #require(db.impl.versions.current.files[0].first?.number)
        let reader = try TableTestSupport.openTable(path: FileNames.table(dir.sub("db"), number),
                                                    backend: try TableTestSupport.makeBackend())
        return try TableTestSupport.scan(reader.makeIterator()).map { entry in
            let (sequence, type) = entry.key.withUnsafeBytes { InternalKey.unpackTrailer(InternalKey.trailer($0)) }
            return (String(decoding: entry.key.dropLast(InternalKey.trailerSize), as: UTF8.self), sequence, type)
        }
    }

    @Test func aKeyOverwrittenInTheMemtableReachesTheTableOnce() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        for round in 0..<5 {
            for i in 0..<100 { try db.put(bytes("key\(i)"), bytes("v\(round)-\(i)")) }
        }
        try db.flush()
        let entries = try newestLevel0Entries(db, dir)
        #expect(entries.count == 100, "one entry per key, not \(entries.count)")
        #expect(Set(entries.map(\.0)).count == 100)
        for i in stride(from: 0, to: 100, by: 7) { #expect(try db.get(bytes("key\(i)")) == bytes("v4-\(i)")) }
        try db.close()
    }

    @Test func aSnapshotStillReadsItsVersionAfterTheFlush() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(bytes("k"), bytes("old"))
        try db.put(bytes("other"), bytes("x"))
        var snapshot: Snapshot? = db.snapshot()
        try db.put(bytes("k"), bytes("middle"))
        try db.put(bytes("k"), bytes("new"))
        try db.flush()
        #expect(try db.get(bytes("k"), options: ReadOptions(snapshot: snapshot)) == bytes("old"))
        #expect(try db.get(bytes("k")) == bytes("new"))
        snapshot = nil
        // Without the snapshot the next flush keeps only the newest.
        for value in ["a", "b", "c"] { try db.put(bytes("j"), bytes(value)) }
        try db.flush()
        #expect(try newestLevel0Entries(db, dir).map(\.0) == ["j"])
        try db.close()
    }

    @Test func aDeletionOverAnOlderTableStaysThroughTheFlushAndReopen() throws {
        let dir = try TempDir()
        var db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(bytes("k"), bytes("in an older table"))
        try db.flush()
        try db.put(bytes("k"), bytes("hidden in the memtable"))
        try db.delete(bytes("k"))
        try db.flush()
        let entries = try newestLevel0Entries(db, dir)
        #expect(entries.count == 1 && entries.first?.2 == ValueType.deletion.rawValue,
                "the tombstone alone: \(entries)")
        #expect(try db.get(bytes("k")) == nil)
        try db.close()
        db = try DB(path: dir.sub("db"), options: openOptions())
        #expect(try db.get(bytes("k")) == nil)
        try db.close()
    }

    @Test func recoveryFlushesTheNewestVersionOfEachKey() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.createIfMissing = true
        do {
            let db = try DB(path: dir.sub("db"), options: options)
            for value in ["1", "2", "3"] { try db.put(bytes("r"), bytes(value)) }
            db.impl.abandonForCrashTest()
        }
        let db = try DB(path: dir.sub("db"), options: options)
        #expect(try db.get(bytes("r")) == bytes("3"))
        // The replayed memtable was flushed at open.
        #expect(db.impl.versions.current.files[0].count == 1)
        #expect(try newestLevel0Entries(db, dir).map(\.1) == [3])
        try db.close()
    }
}
