import Glibc
import Testing
@testable import RingKV

/// Compactions that no write asks for: those already due when the
/// database opens, and those a read-only workload calls for by seeking
/// through many tables (docs/ARCHITECTURE.md §Compaction).
@Suite struct IdleCompactionTests {
    typealias F = CompactionFixtures

    /// Options under which writes never trigger an L0 compaction.
    private func noAutomaticL0(_ options: Options) -> Options {
        var o = options
        o.l0CompactionTrigger = 100
        o.l0SlowdownTrigger = 200
        o.l0StopTrigger = 300
        return o
    }

    /// `count` overlapping L0 tables, each holding every key of 0..<keys.
    private func makeLevel0(_ path: String, tables count: Int, keys: Int) throws {
        let db = try DB(path: path, options: noAutomaticL0(F.smallOptions(memtableBytes: 1 << 20)))
        for t in 0..<count {
            for i in 0..<keys { try db.put(compactionKey(i), bytes("t\(t)-\(i)")) }
            try db.flush()
        }
        #expect(db.stats().levels[0].files == count)
        try db.close()
    }

    /// Waits until L0 has fewer than `files` tables (at most `seconds`).
    private func waitForLevel0(below files: Int, _ db: DB, seconds: Double = 30) -> Bool {
        let deadline = MonotonicClock.nanos() + UInt64(seconds * 1e9)
        while MonotonicClock.nanos() < deadline {
            if db.stats().levels[0].files < files { return true }
            usleep(10_000)
        }
        return false
    }

    @Test func level0OverTheTriggerAtOpenIsCompactedWithoutAnyWrite() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try makeLevel0(path, tables: 6, keys: 200)
        let db = try DB(path: path, options: F.smallOptions(memtableBytes: 1 << 20))
        #expect(waitForLevel0(below: 4, db), "L0 still holds \(db.stats().levels[0].files) tables")
        // The counter is recorded just after the new version is installed.
        let deadline = MonotonicClock.nanos() + 5_000_000_000
        while db.stats().compactions == 0 && MonotonicClock.nanos() < deadline { usleep(1_000) }
        #expect(db.stats().compactions >= 1)
        #expect(db.stats().writeBatches == 0)
        for i in stride(from: 0, to: 200, by: 13) { #expect(try db.get(compactionKey(i)) == bytes("t5-\(i)")) }
        try db.close()
    }

    @Test func iteratorSeeksThroughL0BelowTheTriggerEventuallyCompactIt() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        try makeLevel0(path, tables: 3, keys: 200)
        let db = try DB(path: path, options: F.smallOptions(memtableBytes: 1 << 20))
        // Three tables are below the trigger (4): nothing is due.
        #expect(db.stats().compactions == 0 && db.stats().levels[0].files == 3)
        let allowed = try #require(db.impl.versions.current.files[0].map { $0.allowedSeeks.load(ordering: .relaxed) }.max())
        // An iterator's seek counts as 16 gets' searches (SeekCharge).
        for i in 0..<(allowed / DBImpl.SeekCharge.iteratorSeek.weight + 10) {
            let it = try db.makeIterator()
            try it.seek(to: compactionKey((i * 7) % 200))
            #expect(it.isValid)
        }
        #expect(waitForLevel0(below: 1, db), "L0 still holds \(db.stats().levels[0].files) tables")
        #expect(db.stats().compactions >= 1 && db.stats().writeBatches == 0)
        for i in stride(from: 0, to: 200, by: 11) { #expect(try db.get(compactionKey(i)) == bytes("t2-\(i)")) }
        try db.close()
    }

    /// One search in vain is allowed per KiB of table (FileMetaData
    /// .bytesPerAllowedSeek), not LevelDB's 16 KiB: a read-only workload
    /// whose filter false positives stay under that compacts nothing.
    @Test func fewerSearchesInVainThanOnePerKiBOfTableCompactNothing() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = F.smallOptions(memtableBytes: 4 << 20)
        options.bloomBitsPerKey = 0  // every table whose range holds the key is searched
        options.compression = false
        let value = { (tag: String, i: Int) in bytes(tag + String(repeating: "v", count: 250) + "\(i)") }
        do {
            let db = try DB(path: path, options: noAutomaticL0(options))
            for i in 0..<2000 { try db.put(compactionKey(i), value("old", i)) }
            try db.compactRange()
            for round in 0..<2 {
                for i in stride(from: 0, to: 2000, by: 2) { try db.put(compactionKey(i), value("new\(round)", i)) }
                try db.flush()
            }
            try db.close()
        }
        let db = try DB(path: path, options: options)
        let level0 = db.impl.versions.current.files[0]
        #expect(level0.count == 2 && level0.allSatisfy { $0.fileSizeBytes >= 250 << 10 })
        // 200 odd keys, each searched for in vain in the newer L0 table:
        // under one allowed search per 16 KiB (at least 100) it is compacted.
        for i in 0..<200 {
            let key = 2 * (i % 1000) + 1
            #expect(try db.get(compactionKey(key)) == value("old", key))
        }
        usleep(500_000)
        #expect(db.stats().compactions == 0 && db.stats().levels[0].files == 2)
        try db.close()
    }

    /// A small L0 table over a large L1: its own 100 allowed searches in
    /// vain are widened by one per KiB of the L1 tables under it (what its
    /// compaction would rewrite) before it is compacted.
    @Test func aTableIsAllowedOneSearchInVainPerKiBItOverlapsBelow() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = F.smallOptions(memtableBytes: 4 << 20, l1Bytes: 4 << 20)  // compactRange fills L1
        options.bloomBitsPerKey = 0  // every table whose range holds the key is searched
        options.compression = false
        let value = { (i: Int) in bytes("old" + String(repeating: "v", count: 250) + "\(i)") }
        do {
            let db = try DB(path: path, options: noAutomaticL0(options))
            for i in 0..<2000 { try db.put(compactionKey(i), value(i)) }
            try db.compactRange()
            for round in 0..<2 {
                for i in stride(from: 0, to: 2000, by: 100) { try db.put(compactionKey(i), bytes("new\(round)")) }
                try db.flush()
            }
            try db.close()
        }
        let db = try DB(path: path, options: options)
        let version = db.impl.versions.current
        #expect(version.files[0].count == 2 && version.files[0].allSatisfy { $0.allowedSeeks.load(ordering: .relaxed) == 100 })
        let widening = Int(db.stats().levels[1].bytes / FileMetaData.bytesPerAllowedSeek)
        #expect(widening >= 500)
        // An odd key is searched for in both L0 tables, then found in L1.
        func search(_ count: Int, from start: Int) throws {
            for i in start..<(start + count) {
                let key = 2 * (i % 1000) + 1
                #expect(try db.get(compactionKey(key)) == value(key))
            }
        }
        try search(300, from: 0)
        usleep(500_000)
        #expect(db.stats().compactions == 0 && db.stats().levels[0].files == 2)
        try search(widening, from: 300)
        #expect(waitForLevel0(below: 2, db), "L0 still holds \(db.stats().levels[0].files) tables")
        #expect(db.stats().compactions >= 1)
        try db.close()
    }

    @Test func getsSearchingL0InVainEventuallyCompactIt() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = F.smallOptions(memtableBytes: 1 << 20)
        options.bloomBitsPerKey = 0  // every table whose range holds the key is searched
        do {
            let db = try DB(path: path, options: noAutomaticL0(options))
            for i in 0..<200 { try db.put(compactionKey(i), bytes("old-\(i)")) }
            try db.compactRange()
            // Two L0 tables over the same range holding only the even keys.
            for round in 0..<2 {
                for i in stride(from: 0, to: 200, by: 2) { try db.put(compactionKey(i), bytes("new\(round)-\(i)")) }
                try db.flush()
            }
            #expect(db.stats().levels[0].files == 2)
            try db.close()
        }
        let db = try DB(path: path, options: options)
        #expect(db.stats().compactions == 0)
        let allowed = try #require(db.impl.versions.current.files[0].map { $0.allowedSeeks.load(ordering: .relaxed) }.max())
        // Once those run out, one more per KiB of L1 under the table.
        let widening = Int(db.stats().levels[1].bytes / FileMetaData.bytesPerAllowedSeek)
        // An odd key is searched for in both L0 tables, then found below.
        for i in 0..<(allowed + widening + 10) {
            let key = 2 * (i % 100) + 1
            #expect(try db.get(compactionKey(key)) == bytes("old-\(key)"))
        }
        #expect(waitForLevel0(below: 1, db), "L0 still holds \(db.stats().levels[0].files) tables")
        #expect(db.stats().compactions >= 1 && db.stats().writeBatches == 0)
        #expect(try db.get(compactionKey(10)) == bytes("new1-10"))
        #expect(try db.get(compactionKey(11)) == bytes("old-11"))
        try db.close()
    }
}
