import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Error semantics under injected I/O failures (docs/ARCHITECTURE.md
/// §Failures): a failed WAL write or fsync fails its group and makes the
/// database read-only until reopen; reads keep working; a failed flush is
/// retried; reopening gives every acknowledged write.
@Suite struct FaultInjectionTests {
    func options(_ plan: FaultPlan?) -> Options {
        var o = openOptions()
        o.faultPlan = plan
        return o
    }

    func isReadOnly(_ error: any Error) -> Bool {
        if case DBError.readOnly = error { return true }
        return false
    }

    @Test func failedWALWriteFailsTheWriteAndMakesTheDatabaseReadOnly() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try DB(path: dir.sub("db"), options: options(plan))
        try db.put("k1", "v1", options: WriteOptions(sync: true))
        plan.add(.init(kind: .write, nth: 1, errno: EIO))
        #expect { try db.put("k2", "v2") } throws: { error in
            guard case DBError.io(let io) = error else { return false }
            return io.errno == EIO && io.path?.hasSuffix(".log") == true
        }
        #expect { try db.put("k3", "v3") } throws: { isReadOnly($0) }
        #expect(try db.get("k1") == "v1")  // reads keep working
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: options(nil))
        #expect(try reopened.get("k1") == "v1")
        #expect(try reopened.get("k3") == nil)
        try reopened.put("k4", "v4")  // writable again after reopen
        try reopened.close()
    }

    @Test func failedWALFsyncIsNotRetriedAndTheDatabaseGoesReadOnly() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try DB(path: dir.sub("db"), options: options(plan))
        for i in 0..<10 { try db.put("a\(i)", "x", options: WriteOptions(sync: true)) }
        plan.add(.init(kind: .fsync, nth: 1, errno: EIO))
        #expect { try db.put("b", "y", options: WriteOptions(sync: true)) } throws: { error in
            guard case DBError.io(let io) = error else { return false }
            return io.errno == EIO && io.operation.contains("fdatasync")
        }
        #expect { try db.put("c", "z", options: WriteOptions(sync: true)) } throws: { isReadOnly($0) }
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: options(nil))
        for i in 0..<10 { #expect(try reopened.get("a\(i)") == "x") }
        #expect(try reopened.get("c") == nil)
        try reopened.close()
    }

    @Test func fullDiskStopsWritesWithAClearErrorAndReadsKeepWorking() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try DB(path: dir.sub("db"), options: options(plan))
        try db.put("kept", "yes")
        plan.add(.init(kind: .write, nth: 1, errno: ENOSPC, sticky: true))
        #expect { try db.put("more", "data") } throws: { error in
            (error as? DBError)?.isNoSpace == true && "\(error)".contains("No space left")
        }
        #expect(throws: DBError.self) { try db.put("again", "data") }
        #expect(try db.get("kept") == "yes")
        #expect(try db.scan().map(\.key) == [bytes("kept")])
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: options(nil))
        #expect(try reopened.get("kept") == "yes")
        try reopened.close()
    }

    @Test func failedWALPreallocationFailsTheGroup() throws {
        let dir = try TempDir()
        let plan = FaultPlan([.init(kind: .fallocate, nth: 1, errno: ENOSPC)])
        let db = try DB(path: dir.sub("db"), options: options(plan))
        #expect { try db.put("k", "v") } throws: { ($0 as? DBError)?.isNoSpace == true }
        try db.close()
    }

    @Test func failedFlushIsRetriedAndInstallsNoPartialTable() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try DB(path: dir.sub("db"), options: options(plan))
        for i in 0..<500 { try db.put("key\(i)", String(repeating: "v", count: 100)) }
        // The table's fsync (not the fdatasync of the old WAL at the
        // memtable switch).
        plan.add(.init(kind: .fsync, nth: 1, errno: EIO, pathContains: ".sst"))
        // The background thread retries with back-off and succeeds; flush()
        // either sees the first failure or waits for the retry.
        _ = try? db.flush()
        var waitedMillis = 0
        while db.stats().flushes == 0 && waitedMillis < 10_000 {
            usleep(10_000)
            waitedMillis += 10
        }
        let stats = db.stats()
        #expect(stats.flushFailures >= 1)
        #expect(stats.flushes == 1)
        #expect(stats.levels[0].files == 1)
        for i in stride(from: 0, to: 500, by: 37) {
            #expect(try db.get("key\(i)") == String(repeating: "v", count: 100))
        }
        try db.close()
        let tables = try FileSystem.listDirectory(dir.sub("db")).filter { $0.hasSuffix(".sst") }
        #expect(tables.count == 1, "a failed flush left a partial table: \(tables)")
        let reopened = try DB(path: dir.sub("db"), options: options(nil))
        #expect(try reopened.scan().count == 500)
        try reopened.close()
    }

    @Test func failedTableReadIsReportedNotReturnedAsAbsent() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try DB(path: dir.sub("db"), options: options(plan))
        for i in 0..<200 { try db.put("key\(i)", "value\(i)") }
        try db.flush()
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: options(plan))
        plan.add(.init(kind: .read, nth: 1, errno: EIO, sticky: true))
        #expect(throws: DBError.self) { try reopened.get("key7") }
        plan.reset()
        #expect(try reopened.get("key7") == "value7")
        try reopened.close()
    }
}
