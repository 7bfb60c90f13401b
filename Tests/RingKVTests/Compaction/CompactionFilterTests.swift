import Testing
@testable import RingKV

/// `Options.compactionFilter`: values are removed or replaced in
/// compaction, never under a live snapshot's feet.
@Suite struct CompactionFilterTests {
    /// Removes "drop", replaces "old" by "new", keeps the rest; counts calls.
    struct Filter: CompactionFilter {
        let calls = Locked<[String]>([])
        func filter(key: [UInt8], value: [UInt8]) -> CompactionDecision {
            calls.withLock { $0.append(String(decoding: key, as: UTF8.self)) }
            switch String(decoding: value, as: UTF8.self) {
            case "drop": return .remove
            case "old": return .replace(Array("new".utf8))
            default: return .keep
            }
        }
    }

    static func read(_ db: DB, _ key: String, _ options: ReadOptions = ReadOptions()) throws -> String? {
        try db.get(Array(key.utf8), options: options).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aLiveSnapshotReadsWhatItSawAndNewerValuesAreFiltered() throws {
        let dir = try TempDir()
        let filter = Filter()
        var options = openOptions()
        options.compactionFilter = filter
        let db = try DB(path: dir.sub("db"), options: options)
        try db.put("k1", "drop")
        try db.put("k2", "old")
        try db.put("k3", "keep")
        try db.put("k6", "drop")
        try db.flush()
        var at = ReadOptions(snapshot: db.snapshot())
        try db.put("k4", "drop")
        try db.put("k5", "old")
        try db.put("k2", "old")
        try db.delete("k6")
        try db.flush()
        try db.compactRange()
        #expect(filter.calls.withLock { $0 }.sorted() == ["k2", "k4", "k5"],
                "asked only about newest values newer than the snapshot")
        // The current state: filtered where the value is newer than the snapshot.
        #expect(try Self.read(db, "k1") == "drop")
        #expect(try Self.read(db, "k2") == "new")
        #expect(try Self.read(db, "k3") == "keep")
        #expect(try Self.read(db, "k4") == nil)
        #expect(try Self.read(db, "k5") == "new")
        // The snapshot reads exactly what it saw.
        #expect(try Self.read(db, "k1", at) == "drop")
        #expect(try Self.read(db, "k2", at) == "old")
        #expect(try Self.read(db, "k3", at) == "keep")
        #expect(try Self.read(db, "k4", at) == nil && Self.read(db, "k5", at) == nil)
        #expect(try Self.read(db, "k6", at) == "drop")
        #expect(try db.scan(options: at).map { String(decoding: $0.key, as: UTF8.self) } == ["k1", "k2", "k3", "k6"])
        // Once the snapshot is gone, the next compaction filters the rest.
        at.snapshot = nil
        try db.put("k0", "x")  // overlaps the compacted table: it is rewritten
        try db.put("k8", "x")
        try db.flush()
        try db.compactRange()
        #expect(try Self.read(db, "k1") == nil)
        #expect(try Self.read(db, "k2") == "new" && Self.read(db, "k3") == "keep")
        #expect(try db.scan().map { String(decoding: $0.key, as: UTF8.self) } == ["k0", "k2", "k3", "k5", "k8"])
        try db.close()
    }
}
