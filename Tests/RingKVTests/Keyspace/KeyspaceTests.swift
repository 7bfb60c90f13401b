import Glibc
import RingIO
import Testing
@testable import RingKV

/// Keyspaces through the public API (docs/KEYSPACES.md): independence,
/// batches across them, persistence, drop and its files, WAL retention,
/// the memtable budget, and every bad input the issue names.
@Suite struct KeyspaceTests {
    static func keyspaceError(_ body: () throws -> Void) -> DBError? {
        do { try body() } catch let error as DBError { return error } catch { return nil }
        return nil
    }

    /// Polls `condition` for up to 10 s.
    static func eventually(_ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.nanos() + 10_000_000_000
        while MonotonicClock.nanos() < deadline {
            if condition() { return true }
            usleep(2_000)
        }
        return false
    }

    static func logFiles(_ path: String) throws -> [UInt64] {
        try FileSystem.listDirectory(path).compactMap { name -> UInt64? in
            guard let (kind, number) = FileNames.parse(name), kind == .log else { return nil }
            return number
        }.sorted()
    }

    static func tableFiles(_ path: String) throws -> Set<UInt64> {
        Set(try FileSystem.listDirectory(path).compactMap { name -> UInt64? in
            guard let (kind, number) = FileNames.parse(name), kind == .table else { return nil }
            return number
        })
    }

    @Test func keyspacesAreIndependentAndABatchSpansThem() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            let users = try db.keyspace("users")
            let logs = try db.keyspace("logs")
            #expect(db.keyspaceNames() == ["default", "users", "logs"])
            try db.put("k", "default")
            try users.put("k", "users")
            #expect(try db.get("k") == "default")
            #expect(try users.get("k") == "users")
            #expect(try logs.get("k") as String? == nil)
            // db.keyspace("default") is the DB's own keyspace.
            let byName = try db.keyspace("default")
            try byName.put("d", "via handle")
            #expect(try db.get("d") == "via handle")

            let before = db.snapshot()
            var batch = WriteBatch()
            batch.put("b", "1", in: users)
            batch.put("b", "2", in: logs)
            batch.put("b", "3")
            batch.delete("k", in: users)
            try db.write(batch)
            #expect(try users.get("b") == "1" && logs.get("b") == "2" && db.get("b") == "3")
            #expect(try users.get("k") as String? == nil && db.get("k") == "default")
            // A snapshot of the database covers every keyspace.
            let old = ReadOptions(snapshot: before)
            #expect(try users.get("k", options: old) == "users")
            #expect(try logs.get("b", options: old) as String? == nil)

            #expect(try users.multiGet(["b", "k", "zz"]) == [bytes("1"), nil, nil])
            let it = try logs.makeIterator()
            try it.seekToFirst()
            var seen: [[UInt8]] = []
            while it.isValid { seen.append(it.key); try it.next() }
            #expect(seen == [bytes("b")])
            #expect(try users.scan().map(\.key) == [bytes("b")])
            try users.deleteRange(from: "a", to: "c")
            #expect(try users.scan().isEmpty && logs.get("b") == "2")
            try users.put("after", "flush")
            try users.flush()
            #expect(users.stats().files == 1 && db.stats().keyspaces["users"]?.files == 1)
            #expect(db.stats().keyspaces["default"]?.files == 0)
            try db.close()
        }
        // Everything, names included, survives a reopen.
        let db = try DB(path: path, options: openOptions())
        #expect(db.keyspaceNames() == ["default", "users", "logs"])
        let users = try db.existingKeyspace("users"), logs = try db.existingKeyspace("logs")
        #expect(try users.get("after") == "flush" && users.get("b") as String? == nil)
        #expect(try logs.get("b") == "2" && db.get("b") == "3" && db.get("d") == "via handle")
        try db.close()
    }

    @Test func asyncReadsAndWritesOfAKeyspace() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        let ks = try await db.keyspace("async")
        try await ks.put("a", "1")
        try await ks.put("b", "2")
        let value: String? = try await ks.get("a")
        #expect(value == "1")
        #expect(try await ks.multiGet(["a", "b", "c"]) == [bytes("1"), bytes("2"), nil])
        var keys: [[UInt8]] = []
        for try await entry in ks.entries() { keys.append(entry.key) }
        #expect(keys == [bytes("a"), bytes("b")])
        try await ks.delete("a")
        try await ks.flush()
        #expect(try await ks.get("a") == nil)
        let inDefault: String? = try await db.get("a")
        #expect(inDefault == nil)
        try await db.dropKeyspace("async")
        await #expect(throws: DBError.keyspaceDropped(name: "async")) { _ = try await ks.get("b") }
        try await db.close()
    }

    @Test func badNamesAndUnknownOrDroppedKeyspacesThrowClearErrors() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        for name in ["", String(repeating: "x", count: 256), "a\u{0}b"] {
            let error = Self.keyspaceError { _ = try db.keyspace(name) }
            guard case .invalidKeyspaceName = error else {
                Issue.record("name of \(name.utf8.count) bytes: \(String(describing: error))")
                continue
            }
        }
        let invalidUTF8 = Self.keyspaceError { _ = try db.keyspace(nameBytes: [0x61, 0xff, 0xfe]) }
        guard case .invalidKeyspaceName(let shown, _) = invalidUTF8 else {
            Issue.record("non-UTF-8 name: \(String(describing: invalidUTF8))")
            return
        }
        #expect(shown.contains("\\xff"))
        _ = try db.keyspace(String(repeating: "y", count: 255))  // the longest name is fine
        #expect(throws: DBError.cannotDropDefaultKeyspace) { try db.dropKeyspace("default") }
        #expect(throws: DBError.unknownKeyspace(name: "nope")) { try db.dropKeyspace("nope") }
        // Reads never create a keyspace.
        #expect(throws: DBError.unknownKeyspace(name: "nope")) { _ = try db.existingKeyspace("nope") }
        #expect(!db.keyspaceNames().contains("nope"))

        let gone = try db.keyspace("gone")
        try gone.put("k", "v")
        try db.dropKeyspace("gone")
        #expect(!db.keyspaceNames().contains("gone"))
        let dropped = DBError.keyspaceDropped(name: "gone")
        #expect(throws: dropped) { _ = try gone.get("k") }
        #expect(throws: dropped) { try gone.put("k", "v") }
        #expect(throws: dropped) { _ = try gone.makeIterator() }
        #expect(throws: dropped) { _ = try gone.multiGet(["k"]) }
        #expect(throws: dropped) { try gone.flush() }
        #expect(throws: dropped) { try db.dropKeyspace(gone) }
        // A batch naming a dropped keyspace writes nothing at all.
        var batch = WriteBatch()
        batch.put("in-default", "x")
        batch.put("k", "v", in: gone)
        #expect(throws: dropped) { try db.write(batch) }
        #expect(try db.get("in-default") as String? == nil)
        // A handle of another database is refused, not written into this one.
        let otherDir = try TempDir()
        let other = try DB(path: otherDir.sub("db"), options: openOptions())
        let foreign = try other.keyspace("users")
        var crossing = WriteBatch()
        crossing.put("k", "v", in: foreign)
        #expect(throws: DBError.unknownKeyspace(name: "users")) { try db.write(crossing) }
        #expect(throws: DBError.unknownKeyspace(name: "users")) { try db.dropKeyspace(foreign) }
        // Created again under its name, it is a new, empty keyspace.
        let again = try db.keyspace("gone")
        #expect(try again.get("k") as String? == nil)
        #expect(throws: dropped) { _ = try gone.get("k") }
        try other.close()
        try db.close()
    }

    @Test func droppedKeyspaceFilesGoOnceNoReaderHoldsThem() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        let ks = try db.keyspace("temp")
        for i in 0..<100 { try ks.put("k\(i)", "v\(i)") }
        try ks.flush()
        let tables = try Self.tableFiles(path)
        #expect(tables.count == 1)
        let it = try ks.makeIterator()
        try db.dropKeyspace("temp")
        // The iterator made before still reads what it saw; its table stays.
        try it.seekToFirst()
        var count = 0
        while it.isValid { count += 1; try it.next() }
        #expect(count == 100)
        #expect(try Self.tableFiles(path) == tables)
        _ = consume it
        try db.put("x", "y")
        try db.flush()  // a sweep follows
        #expect(Self.eventually { (try? Self.tableFiles(path).isDisjoint(with: tables)) == true })
        try db.close()
        let reopened = try DB(path: path, options: openOptions())
        #expect(reopened.keyspaceNames() == ["default"])
        try reopened.close()
    }

    /// A WAL stays while a keyspace with data in it has not flushed, and
    /// that data is replayed into its keyspace after a reopen.
    @Test func walIsKeptUntilEveryKeyspaceWithDataInItHasFlushed() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            let idle = try db.keyspace("idle")
            let pinning = try db.keyspace("pinning")
            try pinning.put("held", "in the first log")
            let first = try #require(try Self.logFiles(path).last)
            for round in 0..<3 {
                try db.put("d\(round)", "x")
                try db.flush()
            }
            _ = idle
            // "pinning" has unflushed data in `first`: it stays; the idle
            // keyspace pins nothing.
            #expect(try Self.logFiles(path).contains(first))
            db.impl.abandonForCrashTest()
        }
        do {
            let db = try DB(path: path, options: openOptions())
            let pinning = try db.existingKeyspace("pinning")
            #expect(try pinning.get("held") == "in the first log")
            #expect(try db.get("d2") == "x")
            try db.put("more", "x")
            try db.flush()
            try pinning.put("again", "y")
            try pinning.flush()
            try db.put("last", "z")
            try db.flush()
            // Every keyspace flushed past the old logs: only the current one is left.
            // (The flush thread sweeps right after the flush it reports.)
            #expect(Self.eventually { (try? Self.logFiles(path).count) == 1 }, "\((try? Self.logFiles(path)) ?? [])")
            try db.close()
        }
    }

    /// Memtables of many keyspaces together stay under the database's
    /// budget: over it, the largest one is flushed, though no memtable
    /// reached its own size.
    @Test func theMemtableBudgetFlushesTheLargestMemtable() throws {
        let dir = try TempDir()
        // 1 MiB memtables (128 KiB arena blocks); a budget of 1.5 MiB.
        var options = openOptions(memtableBytes: 1 << 20)
        options.totalMemtableSizeBytes = 3 << 19
        let db = try DB(path: dir.sub("db"), options: options)
        let big = try db.keyspace("big")
        let small = try (0..<4).map { try db.keyspace("small\($0)") }
        let value = [UInt8](repeating: 7, count: 1000)
        var peak = 0
        for i in 0..<4000 {
            try big.put(bytes("k\(i)"), value)
            if i % 100 == 0 { try small[(i / 100) % 4].put(bytes("k\(i)"), value) }
            if i % 50 == 0 { peak = max(peak, db.stats().memtableBytes) }
        }
        // Big's memtable never reached its own 1 MiB: the budget flushed it.
        #expect(big.stats().flushes >= 4, "\(db.stats())")
        for ks in small { #expect(ks.stats().flushes == 0, "\(ks.stats())") }
        #expect(peak <= (3 << 19) + (256 << 10), "peak \(peak)")
        #expect(try big.get("k3999") == value && small[0].get("k0") == value)
        try db.close()
    }

    /// A keyspace's memtable is switched at its own size, whatever the
    /// others hold. (The WIP lost a full keyspace when the leader synced
    /// the WAL before the switch and asked again: it never switched.)
    @Test func aKeyspaceMemtableIsFlushedAtItsOwnSize() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 64 << 20)
        options.totalMemtableSizeBytes = 1 << 30
        let db = try DB(path: dir.sub("db"), options: options)
        let ks = try db.keyspace("own", options: KeyspaceOptions(memtableSizeBytes: 256 << 10))
        let value = [UInt8](repeating: 1, count: 1000)
        for i in 0..<2000 {
            if i % 2 == 0 {
                try ks.put(bytes("k\(i)"), value)
            } else {
                var batch = WriteBatch()
                batch.put(bytes("k\(i)"), value, in: ks)
                try db.write(batch)
            }
        }
        #expect(ks.stats().flushes >= 4, "\(ks.stats())")
        #expect(db.stats().keyspaces["default"]?.flushes == 0)
        try db.close()
    }

    /// The leader measures after a group only the memtables it may have
    /// written (MemoryBudget.swift): a group of puts in other keyspaces
    /// leaves "default" unmeasured, but a batch that also names another
    /// keyspace may write "default", so its memtable is still switched at
    /// its own size when only such batches (and other keyspaces' puts)
    /// fill it.
    @Test func theDefaultMemtableIsFlushedAtItsSizeByBatchesNamingAnotherKeyspace() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 256 << 10)
        options.totalMemtableSizeBytes = 1 << 30
        let db = try DB(path: dir.sub("db"), options: options)
        let ks = try db.keyspace("big", options: KeyspaceOptions(memtableSizeBytes: 64 << 20))
        let value = [UInt8](repeating: 1, count: 1000)
        for i in 0..<2000 {
            var batch = WriteBatch()
            batch.put(bytes("d\(i)"), value)
            batch.put(bytes("k\(i)"), value, in: ks)
            try db.write(batch)
            try ks.put(bytes("p\(i)"), value)
        }
        #expect((db.stats().keyspaces["default"]?.flushes ?? 0) >= 4, "\(db.stats().keyspaces)")
        #expect(ks.stats().flushes == 0)
        #expect(try db.get(bytes("d1999")) == value)
        try db.close()
    }

    @Test func keyspaceOptionsAreStoredAndValidated() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var ko = KeyspaceOptions()
        ko.blockSizeBytes = 1024
        ko.compression = false
        ko.memtableSizeBytes = 1 << 20
        do {
            let db = try DB(path: path, options: openOptions())
            let ks = try db.keyspace("tuned", options: ko)
            #expect(ks.data.options.blockSizeBytes == 1024 && ks.data.options.compression == false)
            #expect(throws: DBError.self) { _ = try db.keyspace("ttl", options: KeyspaceOptions(ttl: .zero)) }
            #expect(throws: DBError.self) { _ = try db.keyspace("bad", options: KeyspaceOptions(blockSizeBytes: 0)) }
            #expect(db.keyspaceNames() == ["default", "tuned"])
            try db.close()
        }
        let db = try DB(path: path, options: openOptions())
        let ks = try db.keyspace("tuned")  // no options: what it was created with
        #expect(ks.data.storedOptions == ko)
        #expect(ks.data.options.blockSizeBytes == 1024 && ks.data.options.memtableSizeBytes == 1 << 20)
        try db.close()
    }
}
