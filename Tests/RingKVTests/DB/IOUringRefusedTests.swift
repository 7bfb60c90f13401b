import Glibc
import Logging
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Where io_uring is not allowed — io_uring_setup refused with EPERM by
/// Docker's default seccomp profile or `kernel.io_uring_disabled=2`, here
/// through the ring seam's `ringSetup` rule — every path falls back to
/// plain syscalls with one notice, and the database works as before.
/// (ModelTests and CrashTests run whole workloads on the fallback.)
@Suite struct IOUringRefusedTests {
    static let refused = FaultPlan.Rule(kind: .ringSetup, nth: 1, errno: EPERM, sticky: true)

    @Test func databaseOpensWritesAndReopensOnPlainSyscallsWithOneWarning() throws {
        let dir = try TempDir()
        let store = CapturingLogHandler.Store()
        var options = openOptions(memtableBytes: 64 << 10)
        options.faultPlan = FaultPlan([Self.refused])
        options.logger = CapturingLogHandler.logger(store)
        let db = try DB(path: dir.sub("db"), options: options)
        let stats = db.stats()
        #expect(stats.ioBackend == .posix)
        #expect(stats.walIOBackend == .posix)
        for i in 0..<2000 {
            try db.put(bytes("k\(i)"), [UInt8](repeating: UInt8(i & 0xff), count: 100), options: WriteOptions(sync: i % 10 == 0))
        }
        try db.compactRange()
        #expect(try db.get("k7").map { Array($0.utf8) } == [UInt8](repeating: 7, count: 100))
        try db.close()
        let warnings = store.with("io_uring unavailable; using plain syscalls")
        #expect(warnings.count == 1 && warnings.first?.level == .warning)
        #expect(warnings.first.map { "\($0.metadata["reason"] ?? "")".contains("Operation not permitted") } == true)

        let reopened = try DB(path: dir.sub("db"), options: options)
        #expect(try reopened.scan().count == 2000)
        try reopened.close()
    }

    @Test func forcePosixIOCoversTheWAL() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.forcePosixIO = true
        let db = try DB(path: dir.sub("db"), options: options)
        #expect(db.stats().ioBackend == .posix)
        #expect(db.stats().walIOBackend == .posix)
        try db.put("a", "1", options: WriteOptions(sync: true))
        try db.put("b", "2")
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: openOptions())
        #expect(reopened.stats().walIOBackend == .ioUring)
        #expect(try reopened.get("a") == "1" && reopened.get("b") == "2")
        try reopened.close()
    }

    /// Only the WAL's ring is refused (the backend got its rings): the WAL
    /// alone falls back, synced groups become pwrite + fdatasync.
    @Test func walFallsBackAloneWhenOnlyItsRingIsRefused() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.faultPlan = FaultPlan([.init(kind: .ringSetup, nth: 1, errno: EPERM, sticky: true, pathContains: ".log")])
        let db = try DB(path: dir.sub("db"), options: options)
        #expect(db.stats().ioBackend == .ioUring)
        #expect(db.stats().walIOBackend == .posix)
        for i in 0..<50 { try db.put("k\(i)", "v\(i)", options: WriteOptions(sync: i % 2 == 0)) }
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: openOptions())
        for i in 0..<50 { #expect(try reopened.get("k\(i)") == "v\(i)") }
        try reopened.close()
    }

    /// The log is preallocated in steps of 1.1 × the memtable size (4 KiB
    /// rounded), not a fixed 64 MiB: a small memtable keeps small logs.
    @Test func walPreallocationFollowsTheMemtableSize() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 256 << 10)
        options.walPreallocateBytes = 0
        #expect(options.walPreallocationStepBytes == 290_816)
        let db = try DB(path: dir.sub("db"), options: options)
        try db.put("k", "v")
        let logs = try FileSystem.listDirectory(dir.sub("db")).filter { $0.hasSuffix(".log") }
        #expect(logs.count == 1)
        var st = stat()
        #expect(stat(dir.sub("db") + "/" + logs[0], &st) == 0)
        #expect(st.st_size == 290_816)
        try db.close()
        var defaults = Options()
        defaults.walPreallocateBytes = 0
        #expect(defaults.walPreallocationStepBytes == 73_822_208)  // 1.1 × 64 MiB
    }
}
