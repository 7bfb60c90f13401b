import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Injected failures of `open` and `rename` at each site where the engine
/// creates, opens or renames a file (docs/ARCHITECTURE.md §Failures): the
/// error names the operation and the file, the database is not damaged,
/// and after a reopen without faults every acknowledged synced write is
/// there.
@Suite struct OpenRenameFaultTests {
    func options(_ plan: FaultPlan?, memtableBytes: Int = 64 << 20) -> Options {
        var o = openOptions(memtableBytes: memtableBytes)
        o.faultPlan = plan
        return o
    }

    static let synced = WriteOptions(sync: true)

    /// An injected `open` failure on a file whose name contains `suffix`.
    func isOpenFailure(_ error: any Error, on suffix: String, errno code: Int32 = EIO) -> Bool {
        guard case DBError.io(let io) = error else { return false }
        return io.operation == "open" && io.errno == code && io.path?.contains(suffix) == true
            && "\(error)".contains("open failed on")
    }

    /// Reopens without faults and checks keys `prefix0..<count`.
    func expectAllPresent(_ path: String, prefix: String, count: Int) throws {
        let db = try DB(path: path, options: options(nil))
        for i in 0..<count { #expect(try db.get("\(prefix)\(i)") == "value\(i)", "\(prefix)\(i) lost") }
        try db.close()
    }

    @Test func failedTableOpenInFlushIsRetried() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try DB(path: dir.sub("db"), options: options(plan))
        for i in 0..<300 { try db.put("key\(i)", "value\(i)", options: Self.synced) }
        plan.add(.init(kind: .open, nth: 1, errno: EIO, pathContains: ".sst"))
        do {
            try db.flush()  // may see the first failure or wait for the retry
        } catch {
            #expect(isOpenFailure(error, on: ".sst"), "unexpected flush error: \(error)")
        }
        var waitedMillis = 0
        while db.stats().flushes == 0 && waitedMillis < 10_000 {
            usleep(10_000)
            waitedMillis += 10
        }
        #expect(db.stats().flushFailures == 1)
        #expect(db.stats().flushes == 1)
        #expect(plan.injectedCount == 1)
        #expect(try db.get("key7") == "value7")
        try db.close()
        try expectAllPresent(dir.sub("db"), prefix: "key", count: 300)
    }

    @Test func failedWALOpenAtMemtableSwitchFailsTheWriteOnly() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try DB(path: dir.sub("db"), options: options(plan, memtableBytes: 32 << 10))
        plan.add(.init(kind: .open, nth: 1, errno: ENOSPC, pathContains: ".log"))
        var acknowledged = 0
        var failures: [any Error] = []
        var i = 0
        // The write that finds the memtable full switches to a new WAL; that
        // open fails once, the write fails, and the next write switches.
        while i < 2000 {
            do {
                try db.put("key\(i)", "value\(i)", options: Self.synced)
                acknowledged += 1
                i += 1
            } catch {
                failures.append(error)
                #expect(failures.count == 1, "more than one failure: \(error)")
                if failures.count > 1 { break }
            }
        }
        #expect(failures.count == 1)
        if let first = failures.first {
            #expect(isOpenFailure(first, on: ".log", errno: ENOSPC), "\(first)")
            #expect((first as? DBError)?.isNoSpace == true)
        }
        #expect(db.stats().levels[0].files + db.stats().levels[1].files >= 1)
        try db.close()
        try expectAllPresent(dir.sub("db"), prefix: "key", count: acknowledged)
    }

    @Test func failedManifestCreateFailsOpenAndLeavesTheOldStateIntact() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: options(nil))
        for i in 0..<100 { try db.put("key\(i)", "value\(i)", options: Self.synced) }
        try db.close()
        // Open reads the old MANIFEST (open 1) and then creates a new one
        // (open 2).
        let plan = FaultPlan([.init(kind: .open, nth: 2, errno: EIO, pathContains: "MANIFEST-")])
        #expect { try DB(path: dir.sub("db"), options: options(plan)) } throws: { error in
            isOpenFailure(error, on: "MANIFEST-")
        }
        #expect(plan.injectedCount == 1)
        try expectAllPresent(dir.sub("db"), prefix: "key", count: 100)
    }

    @Test func failedCurrentTempOpenFailsOpenAndLeavesTheOldStateIntact() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: options(nil))
        for i in 0..<100 { try db.put("key\(i)", "value\(i)", options: Self.synced) }
        try db.close()
        let plan = FaultPlan([.init(kind: .open, nth: 1, errno: EACCES, pathContains: ".tmp")])
        #expect { try DB(path: dir.sub("db"), options: options(plan)) } throws: { error in
            isOpenFailure(error, on: ".tmp", errno: EACCES)
        }
        // The new MANIFEST was removed again: CURRENT still names the old one.
        let manifests = try FileSystem.listDirectory(dir.sub("db")).filter { $0.hasPrefix("MANIFEST-") }
        #expect(manifests.count == 1, "\(manifests)")
        try expectAllPresent(dir.sub("db"), prefix: "key", count: 100)
    }

    @Test func failedCurrentRenameFailsOpenWithoutDamage() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: options(nil))
        for i in 0..<100 { try db.put("key\(i)", "value\(i)", options: Self.synced) }
        try db.flush()
        for i in 100..<200 { try db.put("key\(i)", "value\(i)", options: Self.synced) }
        try db.close()
        let plan = FaultPlan([.init(kind: .rename, nth: 1, errno: EIO)])
        #expect { try DB(path: dir.sub("db"), options: options(plan)) } throws: { error in
            guard case DBError.io(let io) = error else { return false }
            return io.operation == "rename" && io.errno == EIO && io.path?.hasSuffix(".tmp") == true
        }
        let names = try FileSystem.listDirectory(dir.sub("db"))
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "temp file left behind: \(names)")
        try expectAllPresent(dir.sub("db"), prefix: "key", count: 200)
    }

    @Test func failedCurrentRenameFailsCreationAndASecondTryWorks() throws {
        let dir = try TempDir()
        let plan = FaultPlan([.init(kind: .rename, nth: 1, errno: EROFS)])
        #expect { try DB(path: dir.sub("db"), options: options(plan)) } throws: { error in
            guard case DBError.io(let io) = error else { return false }
            return io.operation == "rename" && io.errno == EROFS
        }
        #expect(!FileSystem.exists(dir.sub("db") + "/CURRENT"))
        let db = try DB(path: dir.sub("db"), options: options(plan))
        for i in 0..<10 { try db.put("key\(i)", "value\(i)", options: Self.synced) }
        try db.close()
        try expectAllPresent(dir.sub("db"), prefix: "key", count: 10)
    }

    @Test func failedTableOpenOnReadIsReportedNotAbsent() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: options(nil))
        for i in 0..<100 { try db.put("key\(i)", "value\(i)") }
        try db.flush()
        try db.close()
        let plan = FaultPlan()
        let reopened = try DB(path: dir.sub("db"), options: options(plan))
        plan.add(.init(kind: .open, nth: 1, errno: EMFILE, sticky: true, pathContains: ".sst"))
        #expect { try reopened.get("key5") } throws: { isOpenFailure($0, on: ".sst", errno: EMFILE) }
        plan.reset()
        #expect(try reopened.get("key5") == "value5")
        try reopened.close()
    }
}
