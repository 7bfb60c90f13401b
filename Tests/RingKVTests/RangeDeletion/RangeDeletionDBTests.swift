import Testing
@testable import RingKV

/// `deleteRange` through every read path (get, multiGet, withValue,
/// iterator/scan, snapshots) with the tombstone and the data in the
/// memtable, L0 and deeper levels, across reopen and compaction.
@Suite struct RangeDeletionDBTests {
    static let keyCount = 200
    static func key(_ i: Int) -> [UInt8] { bytes("key" + String(1000 + i)) }
    static func value(_ i: Int, _ round: Int = 0) -> [UInt8] { bytes("value\(i)-r\(round)") }

    /// Every read path agrees with `model` (index → value, nil: absent).
    static func expectMatches(_ db: DB, _ model: [[UInt8]?], options: ReadOptions = ReadOptions(),
                              _ context: String) throws {
        let keys = (0..<keyCount).map(key)
        let many = try db.multiGet(keys, options: options)
        for i in 0..<keyCount {
            #expect(try db.get(keys[i], options: options) == model[i], "\(context): get \(i)")
            #expect(many[i] == model[i], "\(context): multiGet \(i)")
            let lent: [UInt8]? = try db.withValue(forKey: keys[i], options: options) { Array($0) }
            #expect(lent == model[i], "\(context): withValue \(i)")
        }
        let rows = try db.scan(options: options)
        let expected = (0..<keyCount).compactMap { i in model[i].map { (key(i), $0) } }
        #expect(rows.map(\.key) == expected.map(\.0), "\(context): scan keys")
        #expect(rows.map(\.value) == expected.map(\.1), "\(context): scan values")
        let backward = try db.scan(reverse: true, options: options)
        #expect(backward.map(\.key) == expected.map(\.0).reversed(), "\(context): reverse scan keys")
        #expect(backward.map(\.value) == expected.map(\.1).reversed(), "\(context): reverse scan values")
        // A seek that lands inside a deleted range skips to the next live key.
        let middle = try db.scan(from: key(keyCount / 2), limit: 3, options: options)
        let expectedMiddle = (keyCount / 2..<keyCount).filter { model[$0] != nil }.prefix(3).map(key)
        #expect(middle.map(\.key) == Array(expectedMiddle), "\(context): seek into the range")
    }

    /// Runs `body` on a new database in a temporary directory, then closes it.
    static func withDB(_ body: (DB) throws -> Void) throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try body(db)
        try db.close()
    }

    /// Checks `model`, and `atSnapshot` at `snapshot`, as written, after a
    /// flush (the tombstone in L0) and after compactRange with the
    /// snapshot held; then releases the snapshot, compacts again (covered
    /// entries and tombstones dropped) and checks `model` once more.
    static func expectThroughFlushAndCompaction(_ db: DB, _ model: [[UInt8]?], snapshot: inout Snapshot?,
                                                atSnapshot: [[UInt8]?], _ context: String) throws {
        let stages: [(name: String, step: (DB) throws -> Void)] = [
            ("as written", { _ in }), ("flushed", { try $0.flush() }),
            ("compacted with the snapshot held", { try $0.compactRange() }),
        ]
        for stage in stages {
            try stage.step(db)
            try expectMatches(db, model, "\(context), \(stage.name)")
            guard let held = snapshot else { preconditionFailure("the snapshot is released only below") }
            try expectMatches(db, atSnapshot, options: ReadOptions(snapshot: held),
                              "\(context), at the snapshot, \(stage.name)")
        }
        snapshot = nil
        try db.compactRange()
        try expectMatches(db, model, "\(context), compacted without snapshots")
    }

    /// Loads a database at `path`, flushes it, runs `write` (which updates
    /// the model), closes it without a flush (so `write`'s records stay in
    /// the WAL) and returns the model.
    static func loadFlushWriteAndClose(_ path: String,
                                       _ write: (DB, inout [[UInt8]?]) throws -> Void) throws -> [[UInt8]?] {
        let db = try DB(path: path, options: openOptions())
        var model = try load(db)
        try db.flush()
        try write(db, &model)
        try db.close()
        return model
    }

    static func load(_ db: DB, round: Int = 0) throws -> [[UInt8]?] {
        for i in 0..<keyCount { try db.put(key(i), value(i, round)) }
        return (0..<keyCount).map { value($0, round) }
    }

    static func deleting(_ model: [[UInt8]?], _ range: Range<Int>) -> [[UInt8]?] {
        var m = model
        for i in range { m[i] = nil }
        return m
    }

    enum Placement: String, CaseIterable { case memtable, level0, deeper }

    /// The data sits in `data`; the tombstone is written after it and read
    /// from the memtable, then after a flush (L0), then after compaction.
    @Test(arguments: Placement.allCases)
    func deletedRangeIsHiddenWhereverDataAndTombstoneLive(data: Placement) throws {
        try Self.withDB { db in
            let loaded = try Self.load(db)
            switch data {
            case .memtable: break
            case .level0: try db.flush()
            case .deeper: try db.compactRange()
            }
            var before: Snapshot? = db.snapshot()
            try db.deleteRange(from: Self.key(20), to: Self.key(60))
            try Self.expectThroughFlushAndCompaction(db, Self.deleting(loaded, 20..<60), snapshot: &before,
                                                     atSnapshot: loaded, "data in \(data)")
        }
    }

    @Test func writesAfterTheTombstoneAreVisibleAndOlderOnesAreNot() throws {
        try Self.withDB { db in
            var model = try Self.load(db)
            try db.flush()
            try db.deleteRange(from: Self.key(0), to: Self.key(Self.keyCount))
            model = Array(repeating: nil, count: Self.keyCount)
            for i in stride(from: 0, to: Self.keyCount, by: 7) {
                try db.put(Self.key(i), Self.value(i, 1))
                model[i] = Self.value(i, 1)
            }
            try Self.expectMatches(db, model, "rewritten after deleteRange, all in the memtable")
            try db.flush()
            try Self.expectMatches(db, model, "rewritten after deleteRange, flushed")
            try db.compactRange()
            try Self.expectMatches(db, model, "rewritten after deleteRange, compacted")
        }
    }

    @Test func walReplayRestoresTheTombstone() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let model = try Self.loadFlushWriteAndClose(path) { db, model in
            var batch = WriteBatch()
            batch.deleteRange(from: Self.key(5), to: Self.key(15))
            batch.put(Self.key(7), Self.value(7, 2))
            batch.deleteRange(from: Self.key(100), to: Self.key(150))
            try db.write(batch, options: WriteOptions(sync: true))
            model = Self.deleting(Self.deleting(model, 5..<15), 100..<150)
            model[7] = Self.value(7, 2)
            try Self.expectMatches(db, model, "before close")
        }
        let db = try DB(path: path, options: openOptions())
        try Self.expectMatches(db, model, "after reopen (WAL replayed into an L0 table)")
        try db.close()
        let again = try DB(path: path, options: openOptions())
        try Self.expectMatches(again, model, "after a second reopen")
        try again.close()
    }

    @Test func readOnlyOpenAppliesATombstoneStillInTheWAL() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let model = try Self.loadFlushWriteAndClose(path) { db, model in
            try db.deleteRange(from: Self.key(50), to: Self.key(150), options: WriteOptions(sync: true))
            model = Self.deleting(model, 50..<150)
        }
        var options = openOptions()
        options.readOnly = true
        let db = try DB(path: path, options: options)
        try Self.expectMatches(db, model, "read-only open, tombstone replayed into the memtable")
        try db.close()
    }

    @Test func compactionWithoutSnapshotsReclaimsTheRangeAndDropsTheTombstone() throws {
        try Self.withDB { db in
            for i in 0..<5000 { try db.put(bytes("k\(100_000 + i)"), [UInt8](repeating: UInt8(i & 0xff), count: 200)) }
            try db.compactRange()
            let full = db.stats().levels.reduce(0) { $0 + $1.bytes }
            try db.deleteRange(from: bytes("k"), to: bytes("l"))
            try db.compactRange()
            #expect(try db.scan().isEmpty)
            let version = db.impl.versions.current
            #expect(version.totalFileCount == 0, "every entry and the tombstone dropped: \(version.debugDescription)")
            #expect(db.stats().levels.reduce(0) { $0 + $1.bytes } < full / 100)
        }
    }

    @Test func tombstoneIsKeptWhileASnapshotNeedsIt() throws {
        try Self.withDB { db in
            let loaded = try Self.load(db)
            var snap: Snapshot? = db.snapshot()
            try db.deleteRange(from: Self.key(0), to: Self.key(100))
            try db.compactRange()
            let tombstones = try db.impl.tableRangeTombstones(db.impl.versions.current)
            #expect(tombstones.count == 1)
            try Self.expectMatches(db, loaded, options: ReadOptions(snapshot: snap!), "snapshot")
            snap = nil
            try db.compactRange()
            #expect(try db.impl.tableRangeTombstones(db.impl.versions.current).isEmpty)
            try Self.expectMatches(db, Self.deleting(loaded, 0..<100), "after release and compactRange")
        }
    }

    @Test func invertedRangeIsRejectedAndEmptyRangeWritesNothing() throws {
        try Self.withDB { db in
            try db.put("b", "1")
            #expect(throws: DBError.self) { try db.deleteRange(from: bytes("c"), to: bytes("a")) }
            var batch = WriteBatch()
            batch.put("x", "1")
            batch.deleteRange(from: "z", to: "y")
            #expect(throws: DBError.self) { try db.write(batch) }
            #expect(try db.get("x") == nil, "a refused batch applies nothing")
            let sequence = db.impl.mu.withLock { db.impl.lastSequence }
            try db.deleteRange(from: "b", to: "b")
            #expect(db.impl.mu.withLock { db.impl.lastSequence } == sequence, "an empty range writes nothing")
            #expect(try db.get("b") == "1")
            try db.deleteRange(from: "b", to: "b\u{0}")
            #expect(try db.get("b") == nil, "the end is exclusive, the start inclusive")
        }
    }

    @Test func overlappingTombstonesAcrossLevelsAndSnapshots() throws {
        try Self.withDB { db in
            var model = try Self.load(db)
            try db.compactRange()
            try db.deleteRange(from: Self.key(10), to: Self.key(50))
            model = Self.deleting(model, 10..<50)
            try db.flush()
            var middle: Snapshot? = db.snapshot()
            let atMiddle = model
            for i in 30..<70 { try db.put(Self.key(i), Self.value(i, 3)); model[i] = Self.value(i, 3) }
            try db.deleteRange(from: Self.key(40), to: Self.key(90))
            model = Self.deleting(model, 40..<90)
            try Self.expectThroughFlushAndCompaction(db, model, snapshot: &middle, atSnapshot: atMiddle, "three layers")
        }
    }
}
