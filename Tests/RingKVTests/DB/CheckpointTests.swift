import Glibc
import RingIO
import RingIOFaults
import Synchronization
import Testing
@testable import RingKV

/// `DB.checkpoint(to:)`: a directory that opens as a consistent copy.
@Suite struct CheckpointTests {
    /// A directory made at the target after the checkpoint checked that
    /// the name was free (by another checkpoint, say) and before its
    /// mkdir: the checkpoint throws `alreadyExists` and neither writes
    /// into that directory nor removes it.
    @Test func aTargetMadeAfterTheCheckIsLeftAlone() throws {
        let dir = try TempDir()
        let target = dir.sub("cp-raced")
        var options = openOptions(memtableBytes: 32 << 10)
        options.faultPlan = FaultPlan([FaultPlan.Rule(kind: .createDirectory, pathContains: "cp-raced", before: {
            try? FileSystem.createDirectory(target + "/theirs")
        })])
        let db = try DB(path: dir.sub("db"), options: options)
        for i in 0..<200 { try db.put(bytes("k\(i)"), bytes("v\(i)")) }
        try db.flush()
        #expect { try db.checkpoint(to: target) } throws: { error in
            guard case DBError.alreadyExists(let path) = error else { return false }
            return path == target
        }
        #expect(try FileSystem.listDirectory(target) == ["theirs"])
        try db.close()
    }

    @Test func checkpointHoldsExactlyTheStateAtTheCallAndTheSourceGoesOn() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions(memtableBytes: 32 << 10))
        for i in 0..<300 { try db.put(bytes("k\(i)"), bytes("v\(i)")) }
        try db.flush()
        for i in 0..<300 where i % 3 == 0 { try db.delete(bytes("k\(i)")) }
        for i in 300..<400 { try db.put(bytes("k\(i)"), bytes("w\(i)")) }
        try db.checkpoint(to: dir.sub("cp"))
        // The source keeps working, and what it does now is not in the copy.
        for i in 0..<50 { try db.put(bytes("k\(i)"), bytes("later")) }
        try db.put(bytes("after"), bytes("x"))
        let copy = try DB(path: dir.sub("cp"))
        for i in 0..<400 {
            let expected: [UInt8]? = i % 3 == 0 && i < 300 ? nil : bytes(i < 300 ? "v\(i)" : "w\(i)")
            #expect(try copy.get(bytes("k\(i)")) == expected, "k\(i)")
        }
        #expect(try copy.get(bytes("after")) == nil)
        // The copy is a database of its own: writable, and the source is
        // unaffected by its writes.
        try copy.put(bytes("only-in-copy"), bytes("1"))
        try copy.close()
        #expect(try db.get(bytes("only-in-copy")) == nil)
        #expect(try db.get(bytes("k0")) == bytes("later"))
    }

    /// Issue #21 item 1: a read-only database has no WAL writer and never
    /// sweeps. Its checkpoint must not trap on the missing log, nor delete
    /// the files a writing open would sweep (an old MANIFEST, an old log,
    /// an orphan table — what a crash between a MANIFEST switch and the
    /// sweep leaves): the source stays byte for byte and name for name.
    @Test func aCheckpointOfAReadOnlyDatabaseChangesNothingInTheSource() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var expected: [String: String] = [:]
        do {
            let db = try DB(path: path, options: openOptions(memtableBytes: 16 << 10))
            for i in 0..<500 {
                try db.put("k\(i)", "v\(i)-" + String(repeating: "x", count: i % 40))
                expected["k\(i)"] = "v\(i)-" + String(repeating: "x", count: i % 40)
            }
            try db.flush()
            try db.deleteRange(from: bytes("k10"), to: bytes("k20"))
            for key in expected.keys where key >= "k10" && key < "k20" { expected[key] = nil }
            try db.close()
        }
        do {
            // A second writing open: a new MANIFEST (MANIFEST-000001 goes).
            let db = try DB(path: path, options: openOptions(memtableBytes: 16 << 10))
            // Left in the WAL only: the read-only open replays it into memory.
            for i in 500..<560 {
                try db.put("k\(i)", "w\(i)")
                expected["k\(i)"] = "w\(i)"
            }
            try db.close()
        }
        // What a sweep would take: an older MANIFEST, a log below the
        // MANIFEST's log number, a table no version names.
        let names = try FileSystem.listDirectory(path)
        let manifest = try #require(names.first { $0.hasPrefix("MANIFEST-") })
        let table = try #require(names.first { $0.hasSuffix(".sst") })
        try writeWholeFile(path + "/MANIFEST-000001", try readWholeFile(path + "/" + manifest))
        try writeWholeFile(path + "/000001.log", [UInt8](repeating: 0, count: 4096))
        try writeWholeFile(path + "/099999.sst", try readWholeFile(path + "/" + table))
        #expect(manifest != "MANIFEST-000001")
        let before = try ReadOnlyOpenTests.snapshot(path)

        var options = Options()
        options.readOnly = true
        let source = try DB(path: path, options: options)
        try source.checkpoint(to: dir.sub("cp"))
        try source.checkpoint(to: dir.sub("cp2"))
        #expect(try ReadOnlyOpenTests.contents(source) == expected)
        try source.close()
        #expect(ReadOnlyLockTests.changedFiles(before, try ReadOnlyOpenTests.snapshot(path)) == [],
                "the checkpoint changed the read-only source")

        for target in ["cp", "cp2"] {
            let copy = try DB(path: dir.sub(target))
            #expect(try ReadOnlyOpenTests.contents(copy) == expected, "\(target)")
            try copy.put("only-in-copy", "1")
            try copy.close()
        }
        #expect(ReadOnlyLockTests.changedFiles(before, try ReadOnlyOpenTests.snapshot(path)) == [])
    }

    @Test func anExistingTargetIsRefusedAndLeftAlone() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(bytes("a"), bytes("1"))
        try FileSystem.createDirectory(dir.sub("taken"))
        #expect(throws: DBError.self) { try db.checkpoint(to: dir.sub("taken")) }
        #expect(try FileSystem.listDirectory(dir.sub("taken")).isEmpty)
        #expect(throws: DBError.self) { try db.checkpoint(to: dir.sub("no/such/parent/cp")) }
        #expect(!FileSystem.exists(dir.sub("no")))
        try db.checkpoint(to: dir.sub("cp"))
        #expect(throws: DBError.self) { try db.checkpoint(to: dir.sub("cp")) }
    }

    @Test func aCheckpointOnAnotherFilesystemCopiesTheTables() throws {
        // /dev/shm is tmpfs where it exists, /tmp is the test disk: link(2)
        // fails with EXDEV and the tables are copied instead.
        guard FileSystem.isDirectory("/dev/shm") else { return }
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions(memtableBytes: 16 << 10))
        for i in 0..<500 { try db.put(bytes("k\(i)"), bytes(String(repeating: "v", count: 100))) }
        try db.flush()
        let target = "/dev/shm/ringkv-checkpoint-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileSystem.removeTree(target) }
        try db.checkpoint(to: target)
        let copy = try DB(path: target)
        for i in 0..<500 { #expect(try copy.get(bytes("k\(i)"))?.count == 100) }
    }

    /// The Done-when test of issue #13: checkpoints taken while 4 threads
    /// write (flushes and compactions running), each opened: for every
    /// thread an unbroken prefix of its writes with the right values,
    /// holding at least every write acknowledged before the call.
    @Test func checkpointsTakenWhileFourThreadsWriteHoldAPrefixOfEachThread() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 24 << 10)
        options.l0CompactionTrigger = 2
        let db = try DB(path: dir.sub("db"), options: options)
        let threads = 4
        let counts = Locked<[Int]>(Array(repeating: 0, count: threads))
        let stop = Atomic<Bool>(false)
        let failure = Locked<String?>(nil)
        @Sendable func key(_ t: Int, _ n: Int) -> [UInt8] { bytes("t\(t)-\(String(n + 100_000_000))") }
        @Sendable func value(_ t: Int, _ n: Int) -> [UInt8] { bytes("value-\(t)-\(n)-" + String(repeating: "x", count: n % 50)) }
        var writers: [BackgroundThread] = []
        for t in 0..<threads {
            writers.append(BackgroundThread.spawn {
                var n = 0
                while !stop.load(ordering: .relaxed) {
                    do {
                        try db.put(key(t, n), value(t, n), options: WriteOptions(sync: n % 97 == 0))
                    } catch {
                        failure.withLock { $0 = $0 ?? "writer \(t): \(error)" }
                        return
                    }
                    n += 1
                    counts.withLock { $0[t] = n }
                }
            })
        }
        var taken: [(path: String, ackedBefore: [Int])] = []
        for c in 0..<8 {
            usleep(20_000)
            let before = counts.withLock { $0 }
            let path = dir.sub("cp\(c)")
            try db.checkpoint(to: path)
            taken.append((path, before))
        }
        stop.store(true, ordering: .relaxed)
        for w in writers { w.join() }
        #expect(failure.withLock { $0 } == nil)
        for (path, before) in taken {
            let copy = try DB(path: path)
            for t in 0..<threads {
                let rows = try copy.scan(from: bytes("t\(t)-"), to: bytes("t\(t)."))
                // Unbroken prefix: exactly writes 0..<rows.count, in order,
                // each with its value.
                for (n, row) in rows.enumerated() {
                    #expect(row.key == key(t, n) && row.value == value(t, n), "\(path) thread \(t) write \(n)")
                }
                #expect(rows.count >= before[t],
                        "\(path) thread \(t): \(rows.count) writes, \(before[t]) were acknowledged before the call")
            }
            try copy.close()
        }
    }
}
