import Glibc
import RingIO
import Synchronization
import Testing
@testable import RingKV

/// `DB.checkpoint(to:)`: a directory that opens as a consistent copy.
@Suite struct CheckpointTests {
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
            writers.append(BackgroundThread {
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
