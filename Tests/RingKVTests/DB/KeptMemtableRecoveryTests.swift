import Glibc
import RingIO
import Testing
@testable import RingKV

/// An open keeps the memtables it replays instead of flushing them
/// (docs/KEYSPACES.md §Recovery): each stays its keyspace's active
/// memtable, its keyspace's log number stays at the first log it came
/// from, and those logs stay until it is flushed. Only when every log ended
/// cleanly, and only for keyspaces that wrote no table during the replay.
/// Each test edits or crashes a database as a crash or a user would and
/// reopens it (the power-loss rounds and the kill -9 loops cover the same
/// from outside: PowerLossTests, KeyspaceCrashTests).
@Suite struct KeptMemtableRecoveryTests {
    static func rows(_ keyspace: Keyspace) throws -> [String: String] {
        var rows: [String: String] = [:]
        for row in try keyspace.scan() { rows[String(decoding: row.key, as: UTF8.self)] = String(decoding: row.value, as: UTF8.self) }
        return rows
    }

    static func tableCount(_ db: DB, _ keyspace: Keyspace) -> Int {
        db.impl.versions.current(keyspace: keyspace.data.id).map { $0.files.reduce(0) { $0 + $1.count } } ?? -1
    }

    static func fill(_ keyspace: Keyspace, _ tag: String, count: Int = 50) throws -> [String: String] {
        var rows: [String: String] = [:]
        for i in 0..<count {
            try keyspace.put("\(tag)\(i)", "\(tag)-value-\(i)")
            rows["\(tag)\(i)"] = "\(tag)-value-\(i)"
        }
        return rows
    }

    @Test func aReopenKeepsTheReplayedMemtablesAndTheirLogsUntilTheyAreFlushed() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var expected: [String: [String: String]] = [:]
        do {
            let db = try DB(path: path, options: openOptions())
            expected["default"] = try Self.fill(try db.keyspace("default"), "d")
            expected["a"] = try Self.fill(try db.keyspace("a"), "a")
            try db.close()
        }
        let firstLogs = try KeyspaceTests.logFiles(path)
        for reopen in 0..<2 {
            let db = try DB(path: path, options: openOptions())
            #expect(db.impl.recovery.memtablesKept == 2 && db.impl.recovery.tablesWritten == 0,
                    "reopen \(reopen): \(db.impl.recovery.lines)")
            for name in ["default", "a"] {
                let keyspace = try db.existingKeyspace(name)
                #expect(Self.tableCount(db, keyspace) == 0, "reopen \(reopen): \(name) has tables")
                #expect(try Self.rows(keyspace) == expected[name], "reopen \(reopen): \(name)")
            }
            // The logs the kept memtables came from are still there.
            let logs = try KeyspaceTests.logFiles(path)
            #expect(Set(firstLogs).isSubset(of: Set(logs)), "reopen \(reopen): logs \(logs), first \(firstLogs)")
            try db.close()
        }
        let db = try DB(path: path, options: openOptions())
        try db.flush()
        #expect(try KeyspaceTests.logFiles(path).count > 1)  // "a" still holds the old log
        try db.existingKeyspace("a").flush()
        #expect(KeyspaceTests.eventually { (try? KeyspaceTests.logFiles(path).count) == 1 },
                "once both are flushed only the current log is left: \(String(describing: try? KeyspaceTests.logFiles(path)))")
        for name in ["default", "a"] { #expect(try Self.rows(try db.existingKeyspace(name)) == expected[name]) }
        try db.close()
    }

    /// Crashes with nothing flushed after a reopen that kept memtables:
    /// the next open must replay the kept logs again, then the new one.
    @Test func aCrashAfterAReopenThatFlushedNothingLosesNoWrite() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var expected: [String: [String: String]] = [:]
        do {
            let db = try DB(path: path, options: openOptions())
            expected["default"] = try Self.fill(try db.keyspace("default"), "d")
            expected["a"] = try Self.fill(try db.keyspace("a"), "a")
            db.impl.abandonForCrashTest()
        }
        for round in 0..<3 {
            let db = try DB(path: path, options: openOptions())
            #expect(db.impl.recovery.memtablesKept == 2, "round \(round): \(db.impl.recovery.lines)")
            for name in ["default", "a"] {
                let keyspace = try db.existingKeyspace(name)
                #expect(try Self.rows(keyspace) == expected[name], "round \(round): \(name)")
                // More writes into the new WAL, one keyspace at a time.
                if round % 2 == (name == "a" ? 1 : 0) {
                    expected[name]?.merge(try Self.fill(keyspace, "\(name)r\(round)-", count: 10)) { $1 }
                }
            }
            db.impl.abandonForCrashTest()
        }
        let db = try DB(path: path, options: openOptions())
        for name in ["default", "a"] { #expect(try Self.rows(try db.existingKeyspace(name)) == expected[name]) }
        try db.close()
    }

    /// A torn tail at the end of the last log: the open drops it and flushes
    /// every replayed memtable (a kept log must never end in damage that
    /// the records of a later log would make corruption). Later opens,
    /// with writes in between, then succeed with everything.
    @Test func aTornTailMakesTheOpenFlushAndLaterOpensStillSucceed() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        let a = try db.keyspace("a")
        var expected = try Self.fill(a, "x")
        db.impl.abandonForCrashTest()
        // Garbage after the last record, as a torn unsynced append leaves.
        let log = try #require(try KeyspaceTests.logFiles(path).last.map { FileNames.log(path, $0) })
        var data = try readWholeFile(log)
        let end = try #require(data.lastIndex { $0 != 0 }) + 1
        for i in end..<(end + 100) { data[i] = UInt8(truncatingIfNeeded: i &* 37 | 1) }
        try writeWholeFile(log, data)

        for reopen in 0..<3 {
            let db = try DB(path: path, options: openOptions())
            let recovery = db.impl.recovery
            if reopen == 0 {
                #expect(recovery.drops.count == 1 && recovery.memtablesKept == 0 && recovery.tablesWritten == 1,
                        "\(recovery.lines)")
            } else {
                #expect(recovery.drops.isEmpty && recovery.memtablesKept == 1, "reopen \(reopen): \(recovery.lines)")
            }
            let a = try db.existingKeyspace("a")
            #expect(try Self.rows(a) == expected, "reopen \(reopen)")
            expected.merge(try Self.fill(a, "r\(reopen)-", count: 5)) { $1 }
            try db.close()
        }
    }

    /// A memtable that filled during the replay was written to a table part
    /// way through a log; what followed is written too, never kept: kept,
    /// its log would be replayed again from its start by the next open, and
    /// the operands the table holds would be applied twice.
    @Test func aKeyspaceThatFilledDuringTheReplayIsFlushedWhole() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions(memtableBytes: 8 << 20)
        options.mergeOperator = PowerLossTests.AppendMerge()
        var expected = ""
        do {
            let db = try DB(path: path, options: options)
            let operand = String(repeating: "o", count: 500)
            for i in 0..<2_000 {
                try db.merge("m", "\(i)\(operand)")
                expected += "+\(i)\(operand)"  // AppendMerge: "+" before each operand
            }
            try db.put("other", "kept")
            try db.close()
        }
        options.memtableSizeBytes = 256 << 10
        for reopen in 0..<2 {
            let db = try DB(path: path, options: options)
            // The first open writes every operand to tables; the second
            // has nothing left to replay.
            let recovery = db.impl.recovery
            #expect(reopen == 0 ? recovery.tablesWritten > 1 && recovery.memtablesKept == 0
                                : recovery.batchesReplayed == 0, "reopen \(reopen): \(recovery.lines)")
            #expect(try db.get("m") as String? == expected, "reopen \(reopen): the operands were applied twice")
            #expect(try db.get("other") as String? == "kept")
            try db.close()
        }
    }

    /// Dropping a keyspace whose replayed memtable was kept discards it;
    /// the logs only it needed go, and the name created again is empty
    /// after a crash and a reopen.
    @Test func droppingAKeyspaceWhoseReplayedMemtableWasKept() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            _ = try Self.fill(try db.keyspace("a"), "a")
            try db.put("d", "default")
            try db.flush()
            try db.close()
        }
        do {
            let db = try DB(path: path, options: openOptions())
            #expect(db.impl.recovery.memtablesKept == 1, "\(db.impl.recovery.lines)")
            let current = db.impl.mu.withLock { db.impl.wal.number }
            try db.dropKeyspace("a")
            #expect(KeyspaceTests.eventually { (try? KeyspaceTests.logFiles(path)) == [current] },
                    "only \"a\" needed the old logs: \(String(describing: try? KeyspaceTests.logFiles(path)))")
            let again = try db.keyspace("a")
            #expect(try Self.rows(again).isEmpty)
            try again.put("new", "1")
            db.impl.abandonForCrashTest()
        }
        let db = try DB(path: path, options: openOptions())
        #expect(try Self.rows(try db.existingKeyspace("a")) == ["new": "1"])
        #expect(try db.get("d") as String? == "default")
        try db.close()
    }
}

extension KeptMemtableRecoveryTests {
    /// The logs a kept memtable holds count against the WAL bound
    /// (`maxTotalWALSizeBytes`) from the open on: past it, the keyspace
    /// holding the oldest log is flushed though nothing else writes it.
    @Test func theKeptLogsCountAgainstTheWALBound() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions()
        do {
            let db = try DB(path: path, options: options)
            let a = try db.keyspace("a")
            for i in 0..<1_000 { try a.put("a\(i)", String(repeating: "v", count: 1_000)) }
            try db.close()
        }
        let oldLogs = try KeyspaceTests.logFiles(path)
        options.maxTotalWALSizeBytes = 512 << 10
        let db = try DB(path: path, options: options)
        #expect(db.impl.recovery.memtablesKept == 1, "\(db.impl.recovery.lines)")
        let a = try db.existingKeyspace("a")
        try db.put("d", "1")
        try db.put("d", "2")
        #expect(KeyspaceTests.eventually { Self.tableCount(db, a) == 1 }, "\"a\" was not flushed")
        #expect(KeyspaceTests.eventually { Set(oldLogs).isDisjoint(with: (try? KeyspaceTests.logFiles(path)) ?? oldLogs) })
        #expect(try a.get("a999") as String? == String(repeating: "v", count: 1_000))
        try db.close()
    }

    /// Kept memtables count against the memtable budget from the open on:
    /// over it, the largest is switched and flushed at the next write.
    @Test func theKeptMemtablesCountAgainstTheMemoryBudget() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions(memtableBytes: 4 << 20)
        do {
            let db = try DB(path: path, options: options)
            let a = try db.keyspace("a")
            for i in 0..<2_000 { try a.put("a\(i)", String(repeating: "v", count: 1_000)) }
            try db.close()
        }
        options.totalMemtableSizeBytes = 1 << 20
        let db = try DB(path: path, options: options)
        #expect(db.impl.recovery.memtablesKept == 1, "\(db.impl.recovery.lines)")
        let a = try db.existingKeyspace("a")
        try db.put("d", "1")
        try db.put("d", "2")
        #expect(KeyspaceTests.eventually { Self.tableCount(db, a) == 1 }, "\"a\" was not flushed")
        #expect(try a.get("a1999") as String? == String(repeating: "v", count: 1_000))
        try db.close()
    }
}

extension KeptMemtableRecoveryTests {
    /// Opens that write nothing do not pile up logs behind a kept
    /// memtable: the empty WAL each of them created is removed by the
    /// next open.
    @Test func opensWithoutWritesAddNoLogs() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            _ = try Self.fill(try db.keyspace("a"), "a")
            try db.close()
        }
        for reopen in 0..<5 {
            let db = try DB(path: path, options: openOptions())
            #expect(db.impl.recovery.memtablesKept == 1, "reopen \(reopen): \(db.impl.recovery.lines)")
            #expect(try Self.rows(try db.existingKeyspace("a")).count == 50)
            try db.close()
            let logs = try KeyspaceTests.logFiles(path)
            #expect(logs.count == 2, "reopen \(reopen): the kept log and this open's: \(logs)")
        }
    }
}
