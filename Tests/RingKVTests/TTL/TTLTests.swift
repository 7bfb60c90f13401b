import Glibc
import Testing
@testable import RingKV

/// TTL per keyspace (docs/MERGE_TTL.md §TTL) with an injected clock:
/// expiry on every read path to the nanosecond, in the memtable, in tables
/// and after compaction, at snapshots; an expired newest version hides the
/// older ones; compaction removes expired entries without changing what a
/// live snapshot reads; reopen keeps the original write times.
@Suite struct TTLTests {
    static let second: UInt64 = 1_000_000_000
    typealias F = TTLFixtures

    @Test func expiredValuesVanishFromEveryReadPathExactlyAfterTheirTTL() async throws {
        let clock = TTLTestClock()
        let t0 = clock.now
        let s = Self.second
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: F.options(clock))
        let ks = try await db.keyspace("logs", options: KeyspaceOptions(ttl: .seconds(10)))
        let keys = ["a", "b", "c", "d", "t", "z", "missing"]
        let (beforeNewest, snapshot) = try Self.writeFixture(db, ks, clock)
        clock.set(t0 + 2 * s)
        try await ks.put("c", "3")                    // t0+2 s (async)
        let all: F.Contents = ["a": "1", "b": "2", "c": "3", "t": "txn", "z": "newest"]
        // (clock, expected) pairs: each value is visible while it is at
        // most 10 s old and gone one nanosecond later.
        let checks: [(UInt64, F.Contents)] = [
            (t0 + 10 * s, all),
            (t0 + 10 * s + 1, all.filter { $0.key != "a" }),
            (t0 + 11 * s, all.filter { $0.key != "a" }),
            (t0 + 11 * s + 1, ["b": "2", "c": "3", "t": "txn"]),
            (t0 + 12 * s, ["b": "2", "c": "3", "t": "txn"]),
            (t0 + 12 * s + 1, ["t": "txn"]),
            (t0 + 14 * s, ["t": "txn"]),
            (t0 + 14 * s + 1, [:]),
        ]
        for phase in ["memtable", "L0 table", "compacted"] {
            if phase == "L0 table" { try await ks.flush() }
            if phase == "compacted" {
                clock.set(t0 + 5 * s)  // nothing expired yet: compaction keeps all
                try await ks.compactRange()
            }
            for (now, expected) in checks {
                clock.set(now)
                try await F.expectEveryPath(db, ks, keys: keys, expected, "\(phase) at t0+\(now - t0) ns")
                // The snapshot was taken before "c" was written.
                try await F.expectEveryPath(db, ks, keys: keys, expected.filter { $0.key != "c" },
                                            "\(phase) snapshot at t0+\(now - t0) ns",
                                            options: ReadOptions(snapshot: snapshot))
            }
            // The snapshot from before "z"'s newest version reads the older one.
            clock.set(t0 + 14 * s + 1)
            #expect(try await ks.get("z", options: ReadOptions(snapshot: beforeNewest)) == "older", "\(phase)")
        }
        try await db.close()
    }

    /// Writes the keys of the read-path test through the sync paths.
    static func writeFixture(_ db: DB, _ ks: Keyspace, _ clock: TTLTestClock) throws -> (Snapshot, Snapshot) {
        let t0 = clock.now
        let s = second
        try ks.put("a", "1")                          // written at t0 (single put)
        clock.set(t0 + 2 * s)
        var batch = WriteBatch()
        batch.put("b", "2", in: ks)                   // t0+2 s (batch)
        batch.put("d", "gone", in: ks)
        batch.delete("d", in: ks)
        try db.write(batch)
        clock.set(t0 + 4 * s)
        let txn = db.beginTransaction()
        try txn.put(Array("t".utf8), Array("txn".utf8), in: ks)  // t0+4 s (transaction)
        try txn.commit()
        // "z": an older version written with a later clock reading, under
        // a newer version written earlier: once the newer one expires the
        // key is absent; the older one must not show through.
        clock.set(t0 + 30 * s)
        try ks.put("z", "older")
        let beforeNewest = db.snapshot()
        clock.set(t0 + 1 * s)
        try ks.put("z", "newest")
        return (beforeNewest, db.snapshot())
    }

    @Test func compactionRemovesExpiredEntriesAndKeepsWhatASnapshotReads() throws {
        let clock = TTLTestClock()
        let t0 = clock.now
        let s = Self.second
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: F.options(clock))
        let ks = try db.keyspace("events", options: KeyspaceOptions(ttl: .seconds(10)))
        func key(_ prefix: String, _ i: Int) -> String { prefix + String(format: "%04d", i) }
        func write(_ prefix: String, _ range: Range<Int>, _ value: String) throws {
            for start in stride(from: range.lowerBound, to: range.upperBound, by: 100) {
                var batch = WriteBatch()
                for i in start..<min(start + 100, range.upperBound) { batch.put(key(prefix, i), value, in: ks) }
                try db.write(batch)
            }
        }
        try write("k", 0..<2000, "early")           // t0: expired at t0+25 s
        try ks.flush()
        clock.set(t0 + 100 * s)
        try write("s", 0..<100, "older-live")       // t0+100 s: live at t0+25 s
        try ks.flush()
        var mid: Snapshot? = db.snapshot()          // sees "older-live"
        clock.set(t0 + 10 * s)
        try write("s", 0..<100, "newer-expired")    // t0+10 s, over "older-live": expired at t0+25 s
        clock.set(t0 + 20 * s)
        try write("k", 2000..<4000, "late")         // t0+20 s: live at t0+25 s
        try ks.flush()
        clock.set(t0 + 25 * s)

        func check(_ context: String) throws {
            var model: [String: String] = [:]
            for i in 2000..<4000 { model[key("k", i)] = "late" }
            let rows = try ks.scan()
            #expect(rows.count == model.count, "\(context): \(rows.count) rows")
            for row in rows { #expect(model[F.text(row.key)] == F.text(row.value), "\(context) \(F.text(row.key))") }
            #expect(try ks.get(key("s", 7)) == nil, "\(context): an expired newest version hides the older")
            #expect(try ks.get(key("k", 5)) == nil, "\(context)")
            guard let mid else { return }
            let atMid = ReadOptions(snapshot: mid)
            #expect(try ks.scan(from: Array("s".utf8), to: Array("t".utf8), options: atMid).count == 100, "\(context)")
            #expect(try ks.get(key("s", 7), options: atMid) == "older-live", "\(context)")
        }
        try check("before compaction")
        let before = try F.tableEntryCounts(db, ks)
        #expect(before.entries == 4200)
        let sizeBefore = try ks.approximateSize(from: nil as [UInt8]?, to: nil)
        try ks.compactRange()
        try check("after compaction with a snapshot")
        // The 2000 expired "k" values are gone; each "s" key keeps its
        // older value for the snapshot and a deletion (the expired newer
        // value) above it.
        let after = try F.tableEntryCounts(db, ks)
        #expect(after.entries == 2000 + 200 && after.deletions == 100, "\(after)")
        #expect(try ks.approximateSize(from: nil as [UInt8]?, to: nil) < sizeBefore)
        mid = nil
        try ks.compactRange()
        let last = try F.tableEntryCounts(db, ks)
        #expect(last.entries == 2000 && last.deletions == 0, "\(last)")
        #expect(try ks.get(key("s", 7)) == nil)
        #expect(try ks.scan().count == 2000)
        // Later, everything has expired; compaction leaves nothing.
        clock.set(t0 + 31 * s)
        #expect(try ks.scan().isEmpty)
        try ks.compactRange()
        #expect(try F.tableEntryCounts(db, ks).entries == 0)
        try db.close()
    }

    @Test func reopenKeepsTheOriginalWriteTimes() throws {
        let clock = TTLTestClock()
        let t0 = clock.now
        let s = Self.second
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: F.options(clock))
            let ks = try db.keyspace("sessions", options: KeyspaceOptions(ttl: .seconds(10)))
            try ks.put("flushed", "1")
            try ks.flush()
            try ks.put("wal", "2")                  // only in the WAL at close
            try db.close()
        }
        clock.set(t0 + 9 * s)
        do {
            let db = try DB(path: path, options: F.options(clock))
            let ks = try db.keyspace("sessions")    // stored ttl
            #expect(ks.data.storedOptions.ttl == .seconds(10))
            #expect(try ks.get("flushed") == "1" && ks.get("wal") == "2")
            try ks.put("later", "3")                // t0+9 s
            clock.set(t0 + 10 * s + 1)
            #expect(try ks.get("flushed") == nil && ks.get("wal") == nil, "replay must keep t0, not re-stamp")
            #expect(try ks.get("later") == "3")
            db.impl.abandonForCrashTest()           // as a process that died
        }
        clock.set(t0 + 19 * s)
        let db = try DB(path: path, options: F.options(clock))
        let ks = try db.keyspace("sessions")
        #expect(try ks.get("later") == "3" && ks.get("wal") == nil)
        clock.advance(1)
        #expect(try ks.get("later") == nil)
        try db.close()
    }

    @Test func theTTLIsStoredAndBadOptionsAreRefused() throws {
        let clock = TTLTestClock()
        let dir = try TempDir()
        let path = dir.sub("db")
        func invalidOption(_ body: () throws -> Void) -> Bool {
            do { try body() } catch DBError.invalidOption(let name, _, _) { return name == "KeyspaceOptions.ttl" } catch {
                return false
            }
            return false
        }
        do {
            let db = try DB(path: path, options: F.options(clock))
            _ = try db.keyspace("logs", options: KeyspaceOptions(ttl: .seconds(3600)))
            _ = try db.keyspace("plain")
            #expect(invalidOption { _ = try db.keyspace("zero", options: KeyspaceOptions(ttl: .zero)) })
            #expect(invalidOption { _ = try db.keyspace("neg", options: KeyspaceOptions(ttl: .seconds(-1))) })
            #expect(invalidOption { _ = try db.keyspace("sub", options: KeyspaceOptions(ttl: .nanoseconds(0))) })
            #expect(invalidOption { _ = try db.keyspace("default", options: KeyspaceOptions(ttl: .seconds(1))) })
            #expect(invalidOption { _ = try db.keyspace("plain", options: KeyspaceOptions(ttl: .seconds(1))) })
            #expect(invalidOption { _ = try db.keyspace("logs", options: KeyspaceOptions(memtableSizeBytes: 1 << 20)) })
            #expect(db.keyspaceNames() == ["default", "logs", "plain"])
            try db.close()
        }
        do {
            let db = try DB(path: path, options: F.options(clock))
            #expect(try db.keyspace("logs").data.storedOptions.ttl == .seconds(3600))
            #expect(try db.keyspace("plain").data.storedOptions.ttl == nil)
            // Another positive ttl is stored (the stamps do not depend on it).
            let ks = try db.keyspace("logs", options: KeyspaceOptions(ttl: .seconds(60)))
            #expect(ks.data.options.ttlNanos == 60_000_000_000)
            try db.close()
        }
        let db = try DB(path: path, options: F.options(clock))
        #expect(try db.keyspace("logs").data.storedOptions.ttl == .seconds(60))
        try db.close()
    }

    @Test func mergesIngestAndTableWritersAreRefusedInATTLKeyspace() throws {
        let clock = TTLTestClock()
        let dir = try TempDir()
        var options = F.options(clock)
        options.mergeOperator = CounterMerge()
        let db = try DB(path: dir.sub("db"), options: options)
        let ks = try db.keyspace("ttl", options: KeyspaceOptions(ttl: .seconds(5)))
        let plain = try db.keyspace("plain")
        func invalidArgument(_ body: () throws -> Void) -> Bool {
            do { try body() } catch DBError.invalidArgument { return true } catch { return false }
            return false
        }
        #expect(invalidArgument { try ks.merge(Array("n".utf8), CounterMerge.operand(1)) })
        var batch = WriteBatch()
        batch.merge("n", CounterMerge.operand(1), in: plain)
        batch.put("p", "v", in: ks)
        batch.merge("n", CounterMerge.operand(1), in: ks)
        #expect(invalidArgument { try db.write(batch) })
        #expect(try ks.get("p") == nil && plain.get("n") == nil, "the whole batch is refused")
        try plain.merge(Array("n".utf8), CounterMerge.operand(2))
        #expect(CounterMerge.value(try plain.get(Array("n".utf8))) == 2)
        #expect(invalidArgument { _ = try TableFileWriter(path: dir.sub("t.sst"), for: ks) })
        #expect(invalidArgument {
            _ = try TableFileWriter(path: dir.sub("u.sst"), options: KeyspaceOptions(ttl: .seconds(1)))
        })
        let writer = try TableFileWriter(path: dir.sub("v.sst"), for: plain)
        try writer.add(Array("a".utf8), Array("1".utf8))
        try writer.finish()
        #expect(invalidArgument { try ks.ingest([dir.sub("v.sst")]) })
        #expect(try ks.get("a") == nil)
        try db.close()
    }

    /// An async batch with a merge into a TTL keyspace is refused before
    /// it is queued: writes committed with it in one group still land.
    @Test func anAsyncMergeIntoATTLKeyspaceFailsAlone() async throws {
        let clock = TTLTestClock()
        let dir = try TempDir()
        var options = F.options(clock)
        options.mergeOperator = CounterMerge()
        let db = try await DB(path: dir.sub("db"), options: options)
        let ks = try await db.keyspace("ttl", options: KeyspaceOptions(ttl: .seconds(5)))
        var bad = WriteBatch()
        bad.merge("n", CounterMerge.operand(1), in: ks)
        let badBatch = bad
        let refused = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    if i == 7 {
                        do { try await db.write(badBatch) } catch DBError.invalidArgument { return true }
                        return false
                    }
                    try await ks.put("k\(i)", "v\(i)")
                    return false
                }
            }
            var refused = 0
            for try await r in group where r { refused += 1 }
            return refused
        }
        #expect(refused == 1)
        for i in 0..<16 where i != 7 { #expect(try await ks.get("k\(i)") == "v\(i)") }
        try await db.close()
    }

    /// The compaction filter sees a TTL keyspace's values without their
    /// write time, and a replacement keeps it.
    @Test func theCompactionFilterSeesUserBytesAndAReplacementKeepsTheWriteTime() throws {
        struct Upper: CompactionFilter {
            func filter(key: [UInt8], value: [UInt8]) -> CompactionDecision {
                .replace(value.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
            }
        }
        let clock = TTLTestClock()
        let t0 = clock.now
        let dir = try TempDir()
        var options = F.options(clock)
        options.compactionFilter = Upper()
        let db = try DB(path: dir.sub("db"), options: options)
        let ks = try db.keyspace("ttl", options: KeyspaceOptions(ttl: .seconds(10)))
        try ks.put("k", "abc")
        try ks.flush()
        try ks.compactRange()
        #expect(try ks.get("k") == "ABC")
        clock.set(t0 + 10 * Self.second + 1)
        #expect(try ks.get("k") == nil)
        try db.close()
    }
}
