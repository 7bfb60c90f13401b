import Glibc
import Synchronization
import Testing
@testable import RingKV

/// `DB(followerOf:)` and `catchUp()` (issue 25): a read-only view of a
/// database a primary keeps writing, flushing and compacting.
@Suite struct FollowerTests {
    static func rows(_ db: DB) throws -> [String: String] {
        var state: [String: String] = [:]
        for row in try db.scan() {
            state[String(decoding: row.key, as: UTF8.self)] = String(decoding: row.value, as: UTF8.self)
        }
        return state
    }

    static func smallPrimary() -> Options {
        var o = openOptions(memtableBytes: 32 << 10)
        o.l0CompactionTrigger = 2
        return o
    }

    @Test func aFollowerSeesWhatThePrimaryWroteAfterEachCatchUp() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let primary = try DB(path: path, options: Self.smallPrimary())
        for i in 0..<500 { try primary.put("key\(i)", "v1-\(i)") }
        let follower = try DB(followerOf: path)
        #expect(try Self.rows(follower) == Self.rows(primary))

        // Flushes, compactions, a range deletion, overwrites, a new keyspace.
        for i in 0..<2000 { try primary.put("key\(i % 700)", "v2-\(i)") }
        try primary.deleteRange(from: "key1", to: "key2")
        try primary.compactRange()
        let users = try primary.keyspace("users")
        try users.put("alice", "1")
        #expect(try follower.get("key650") == nil, "the view moves only at catchUp()")
        try follower.catchUp()
        #expect(try Self.rows(follower) == Self.rows(primary))
        let followerUsers = try follower.keyspace("users")
        #expect(try followerUsers.get("alice") == Array("1".utf8))

        // A dropped keyspace: the follower's handle fails after catchUp.
        try primary.dropKeyspace("users")
        try follower.catchUp()
        #expect(throws: DBError.keyspaceDropped(name: "users")) { try followerUsers.get("alice") }
        #expect(follower.keyspaceNames() == ["default"])
        try follower.close()
        try primary.close()
    }

    @Test func aFollowerRefusesWritesAndOldSnapshots() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let primary = try DB(path: path, options: openOptions())
        try primary.put("a", "1")
        let follower = try DB(followerOf: path)
        #expect(throws: DBError.readOnly(.openedReadOnly)) { try follower.put("a", "2") }
        let snapshot = follower.snapshot()
        #expect(try follower.get("a", options: ReadOptions(snapshot: snapshot)) == Array("1".utf8))
        try primary.put("a", "2")
        try follower.catchUp()
        #expect(try follower.get("a") == Array("2".utf8))
        #expect(throws: DBError.self) { try follower.get("a", options: ReadOptions(snapshot: snapshot)) }
        #expect(throws: DBError.self) { try primary.catchUp() }
        try follower.close()
        try primary.close()
    }

    @Test func theAsyncCatchUpMovesTheView() async throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let primary = try await DB(path: path, options: openOptions())
        try await primary.put(Array("a".utf8), Array("1".utf8))
        let follower = try DB(followerOf: path)
        try await primary.put(Array("a".utf8), Array("2".utf8))
        try await follower.catchUp()
        #expect(try await follower.get(Array("a".utf8)) == Array("2".utf8))
        try await follower.close()
        try await primary.close()
    }

    @Test func aFollowerOfNoDatabaseIsAClearError() throws {
        let dir = try TempDir()
        #expect(throws: DBError.databaseNotFound(path: dir.sub("missing"))) { try DB(followerOf: dir.sub("missing")) }
        let empty = dir.sub("empty")
        try FileSystem.createDirectory(empty)
        #expect(throws: DBError.databaseNotFound(path: empty)) { try DB(followerOf: empty) }
        #expect(try FileSystem.listDirectory(empty).isEmpty, "a follower creates nothing")
    }

    /// The primary writes key i (and "last" = i) in order while it flushes
    /// and compacts; the follower catches up again and again, with a reader
    /// thread on it meanwhile. After every catchUp the follower holds
    /// exactly keys 0..<m and last = m - 1, with m at least what was
    /// acknowledged before the call and at most one more than what was
    /// acknowledged after it (the writer's write in flight).
    /// With 32 KiB memtables the primary flushes and compacts between
    /// catch-ups (full replays); with 64 MiB it only appends to its WAL
    /// (incremental catch-ups).
    @Test(arguments: [32 << 10, 64 << 20])
    func underCompactionEveryCatchUpShowsAPrefix(memtableBytes: Int) throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = Self.smallPrimary()
        options.memtableSizeBytes = memtableBytes
        let primary = try DB(path: path, options: options)
        let acked = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let writer = TestThread {
            var i = 0
            while !stop.load(ordering: .relaxed) && i < 40_000 {
                var batch = WriteBatch()
                batch.put(Self.key(i), [UInt8](repeating: UInt8(i & 0xff), count: 100))
                batch.put("last", String(i))
                do { try primary.write(batch) } catch { Issue.record("primary: \(error)"); return }
                i += 1
                acked.store(i, ordering: .releasing)
            }
        }
        while acked.load(ordering: .acquiring) < 1000 { usleep(1000) }
        let follower = try DB(followerOf: path)
        let reading = TestThread {
            while !stop.load(ordering: .relaxed) {
                do { _ = try follower.get("last"); _ = try follower.scan(from: Self.key(0), limit: 50) } catch {
                    Issue.record("follower read: \(error)")
                    return
                }
            }
        }
        var rounds = 0
        var lastSeen = 0
        var catchUpNanos: [UInt64] = []
        while rounds < 30 {
            let before = acked.load(ordering: .acquiring)
            let started = MonotonicClock.nanos()
            try follower.catchUp()
            catchUpNanos.append(MonotonicClock.nanos() - started)
            let after = acked.load(ordering: .acquiring)
            let keys = try follower.scan(from: Self.key(0), to: Self.key(Int(Int32.max))).map(\.key)
            let m = keys.count
            // The write in flight (committed, its ack not yet counted) may show.
            #expect(m >= before && m <= after + 1, "round \(rounds): follower holds \(m), acknowledged \(before)...\(after)")
            #expect(m >= lastSeen, "round \(rounds): the view went back from \(lastSeen) to \(m)")
            #expect(keys == (0..<m).map(Self.key), "round \(rounds): not a prefix")
            #expect(try follower.get("last") == Array(String(m - 1).utf8), "round \(rounds)")
            lastSeen = m
            rounds += 1
        }
        stop.store(true, ordering: .relaxed)
        writer.join()
        reading.join()
        let stats = primary.stats()
        print("follower prefix test (memtable \(memtableBytes >> 10) KiB): \(rounds) catch-ups over \(acked.load(ordering: .relaxed)) writes, "
              + "primary \(stats.compactions) compactions, \(stats.flushes) flushes; catchUp median "
              + "\(catchUpNanos.sorted()[catchUpNanos.count / 2] / 1000) µs, max \((catchUpNanos.max() ?? 0) / 1000) µs")
        let incremental = follower.impl.followerIncrementalCatchUps.load(ordering: .relaxed)
        if memtableBytes < 1 << 20 {
            #expect(stats.compactions > 0, "the primary never compacted under the follower")
        } else {
            #expect(incremental >= rounds - 1, "only \(incremental) of \(rounds) catch-ups were incremental")
        }
        try follower.close()
        try primary.close()
    }

    /// Another process is the primary: crashwriter writes from 3 threads
    /// (flushing and compacting) until it is killed with SIGKILL, while
    /// this process follows it, catching up and reading again and again.
    /// Afterwards one more catch-up must show exactly what a reopen would
    /// recover: every acknowledged operation, only the one after each
    /// thread's last ack in part (CrashOracle).
    @Test func aFollowerOfAnotherProcessEndsWhereARecoveryWould() throws {
        let seed = Int(testSeed() % 1_000_000)
        let dir = try TempDir()
        let path = dir.sub("db")
        let child = builtProduct("crashwriter")
        let threads = 3
        let ackedBox = Mutex<[Int: Int]?>(nil)
        let primary = TestThread {
            do {
                let acked = try CrashTests().runChild(child, path: path, seed: seed, threads: threads, mode: "nosync",
                                                      killAfterMicros: 1_500_000, denyIOUring: false)
                ackedBox.withLock { $0 = acked }
            } catch {
                Issue.record("crashwriter: \(error)")
                ackedBox.withLock { $0 = [:] }
            }
        }
        var follower: DB?
        var catchUps = 0
        while ackedBox.withLock({ $0 == nil }) {
            if let follower {
                try follower.catchUp()
                catchUps += 1
                _ = try follower.scan(limit: 100)
            } else if FileSystem.exists(FileNames.current(path)) {
                follower = try DB(followerOf: path)
            }
            usleep(20_000)
        }
        primary.join()
        let acked = ackedBox.withLock { $0 ?? [:] }
        let final = try follower ?? DB(followerOf: path)
        try final.catchUp()
        var oracle = CrashOracle()
        let verdict = try oracle.check(final, seed: seed, threads: threads, acked: acked)
        for message in verdict.messages { Issue.record("seed \(seed), acked \(acked): \(message)") }
        print("follower of crashwriter (seed \(seed)): \(catchUps) catch-ups while it wrote; "
              + "\(verdict.acknowledgedOps) operations acknowledged")
        #expect(verdict.acknowledgedOps > 0 && catchUps > 0)
        #expect(!verdict.failed)
        try final.close()
    }

    static func key(_ i: Int) -> [UInt8] {
        let digits = String(i)
        return Array(("k" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits).utf8)
    }
}
