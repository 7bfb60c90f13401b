import Glibc
import RingIO
import RingIOFaults
import Synchronization
import Testing
@testable import RingKV

/// Reads racing `close()` (issue #15 item 9): a get that began before
/// close must not reopen tables into the closed database's table cache
/// (leaking their descriptors) nor read after the LOCK was released.
@Suite struct CloseRaceTests {
    /// Descriptors of this process open on files under `dir`.
    static func openDescriptors(under dir: String) -> Int {
        guard let names = try? FileSystem.listDirectory("/proc/self/fd") else { return 0 }
        var count = 0
        for name in names {
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
            guard n > 0 else { continue }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix(dir + "/") { count += 1 }
        }
        return count
    }

    @Test func readsRacingCloseLeaveNoTableOpen() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions(memtableBytes: 32 << 10)
        options.l0CompactionTrigger = 100
        options.l0SlowdownTrigger = 200
        options.l0StopTrigger = 300
        do {
            let db = try DB(path: path, options: options)
            for table in 0..<24 {
                for i in 0..<40 { try db.put(bytes("key-\(i)-\(table)"), bytes("value-\(table)")) }
                try db.flush()
            }
            try db.close()
        }
        for round in 0..<8 {
            let db = try DB(path: path, options: options)
            let started = Atomic<Int>(0)
            var threads: [BackgroundThread] = []
            for t in 0..<4 {
                threads.append(BackgroundThread.spawn {
                    var rng = SeededRandom(seed: UInt64(round * 10 + t))
                    started.add(1, ordering: .relaxed)
                    while true {
                        // A key missing from every table: each get walks all
                        // 24 L0 tables, opening each one not yet open.
                        let key = bytes("key-5-absent\(Int.random(in: 0..<1000, using: &rng))")
                        do { _ = try db.get(key) } catch { return }
                    }
                })
            }
            while started.load(ordering: .relaxed) < 4 { usleep(100) }
            usleep(UInt32(200 * (round + 1)))
            try db.close()
            for thread in threads { thread.join() }
            #expect(db.impl.tableCache.openCount == 0, "round \(round): tables reopened after close")
            #expect(Self.openDescriptors(under: path) == 0, "round \(round): descriptors left open after close")
        }
    }
}

/// A checkpoint racing `close()` and a reopen (issue #21 item 2): the
/// checkpoint's deferred obsolete-file sweep used to run after close, with
/// the closed database's version set, and delete the reopened database's
/// new MANIFEST and tables.
@Suite struct CheckpointCloseRaceTests {
    static func contents(_ db: DB) throws -> [String: String] { try stringContents(of: db) }

    @Test func aCheckpointRacingCloseAndAReopenDeletesNothingOfTheReopenedDatabase() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let target = dir.sub("cp")
        // The checkpoint's first read of the live log (nothing else reads
        // a log while the database is open) is held up for a second: a
        // slow copy to another filesystem.
        let plan = FaultPlan([FaultPlan.Rule(kind: .read, delayMillis: 1000, pathContains: ".log")])
        var options = openOptions(memtableBytes: 32 << 10)
        options.faultPlan = plan
        let db = try DB(path: path, options: options)
        var beforeClose: [String: String] = [:]
        for i in 0..<400 {
            try db.put("k\(i)", "v\(i)-" + String(repeating: "x", count: 100))
            beforeClose["k\(i)"] = "v\(i)-" + String(repeating: "x", count: 100)
        }
        let outcome = Locked<Result<Void, DBError>?>(nil)
        let checkpointer = BackgroundThread.spawn {
            do {
                try db.checkpoint(to: target)
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error as? DBError ?? .internalError("\(error)")) }
            }
        }
        while plan.injectedCount == 0 && outcome.withLock({ $0 == nil }) { usleep(100) }
        #expect(plan.injectedCount == 1, "the checkpoint never reached its copy of the log")
        // Another thread closes while the checkpoint copies; then the
        // application opens the directory again: a new MANIFEST and WAL,
        // then new L0 tables.
        let closer = BackgroundThread.spawn { try? db.close() }
        closer.join()
        var expected = beforeClose
        let reopened = try DB(path: path, options: openOptions(memtableBytes: 32 << 10))
        for i in 400..<800 {
            try reopened.put("k\(i)", "w\(i)-" + String(repeating: "y", count: 100))
            expected["k\(i)"] = "w\(i)-" + String(repeating: "y", count: 100)
        }
        try reopened.flush()
        let tables = reopened.impl.versions.current.fileNumbers
        let manifest = reopened.impl.versions.manifestFileNumber
        #expect(!tables.isEmpty)
        checkpointer.join()

        // Nothing of the reopened database was deleted by the checkpoint.
        for table in tables.sorted() {
            #expect(FileSystem.exists(FileNames.table(path, table)), "table \(table) of the reopened database deleted")
        }
        #expect(FileSystem.exists(FileNames.manifest(path, manifest)), "the reopened database's MANIFEST deleted")
        let current = String(decoding: try readWholeFile(FileNames.current(path)), as: UTF8.self)
            .split(separator: "\n").first.map(String.init) ?? ""
        #expect(FileSystem.exists(path + "/" + current), "CURRENT names \(current), which is missing")
        #expect(try Self.contents(reopened) == expected)
        try reopened.close()
        let again = try DB(path: path, options: openOptions())
        #expect(try Self.contents(again) == expected, "acknowledged writes lost")
        try again.close()

        // The checkpoint either failed cleanly (the database closed under
        // it: nothing at the target) or is a consistent copy.
        print("checkpoint racing close: \(outcome.withLock { $0 }.map { "\($0)" } ?? "unfinished")")
        switch outcome.withLock({ $0 }) {
        case .success?:
            let copy = try DB(path: target, options: openOptions())
            #expect(try Self.contents(copy) == beforeClose)
            try copy.close()
        case .failure(let error)?:
            guard case .closed = error else {
                Issue.record("the checkpoint failed with \(error), not .closed")
                return
            }
            #expect(!FileSystem.exists(target), "a failed checkpoint left its directory")
        case nil:
            Issue.record("the checkpoint did not finish")
        }
    }
}
