import Glibc
import Logging
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// What the engine logs through `Options.logger` (docs/ARCHITECTURE.md
/// §Logging and metrics), captured by a test `LogHandler`.
@Suite struct LogEventTests {
    func options(_ store: CapturingLogHandler.Store, memtableBytes: Int = 64 << 20) -> Options {
        var options = openOptions(memtableBytes: memtableBytes)
        options.logger = CapturingLogHandler.logger(store)
        return options
    }

    @Test func openFlushCompactionAndCloseAreLoggedAtInfoWithTheirNumbers() throws {
        let dir = try TempDir()
        let store = CapturingLogHandler.Store()
        let db = try DB(path: dir.sub("db"), options: options(store, memtableBytes: 16 << 10))
        for i in 0..<2000 { try db.put(bytes("k\(i)"), bytes(String(repeating: "v", count: 40))) }
        try db.compactRange()
        try db.close()

        let opened = store.with("opened database")
        #expect(opened.count == 1 && opened[0].level == .info)
        #expect(opened[0].metadata["db"] == .string(dir.sub("db")))
        let flushes = store.with("flushed memtable")
        #expect(!flushes.isEmpty && flushes.allSatisfy { $0.level == .info })
        #expect(flushes.contains { ($0.metadata["table"]?.description ?? "").hasSuffix(".sst") })
        #expect(flushes.allSatisfy { $0.metadata["duration_ms"] != nil && $0.metadata["bytes"] != nil })
        let compactions = store.with("compacted") + store.with("moved table down a level")
        #expect(!compactions.isEmpty)
        #expect(compactions.allSatisfy { $0.metadata["inputs"] != nil && $0.metadata["bytes_written"] != nil })
        #expect(store.with("closed database").count == 1)

        // Reopening replays nothing (the close flushed nothing, but the
        // log of the last writes holds them) and says what it replayed.
        let store2 = CapturingLogHandler.Store()
        let reopened = try DB(path: dir.sub("db"), options: options(store2))
        let replay = store2.with("opened database")
        #expect(replay.count == 1 && replay[0].metadata["logs_replayed"] != nil)
        #expect(replay[0].metadata["batches_replayed"] != nil)
        try reopened.close()
    }

    @Test func aWriteStallIsAWarningWithItsDuration() throws {
        let dir = try TempDir()
        let store = CapturingLogHandler.Store()
        let plan = FaultPlan()
        // Every table fsync takes 150 ms: the next memtable fills while the
        // previous one is still being flushed, and its writer stalls.
        plan.add(.init(kind: .fsync, delayMillis: 150, sticky: true, pathContains: ".sst"))
        var options = options(store, memtableBytes: 8 << 10)
        options.faultPlan = plan
        let db = try DB(path: dir.sub("db"), options: options)
        for i in 0..<600 { try db.put(bytes("k\(i)"), bytes(String(repeating: "v", count: 64))) }
        #expect(db.stats().stalls > 0)
        try db.close()
        let stalls = store.with("write stall")
        #expect(!stalls.isEmpty && stalls.allSatisfy { $0.level == .warning })
        #expect(stalls.allSatisfy { $0.metadata["duration_ms"] != nil && $0.metadata["reason"] != nil })
    }

    @Test func aFailedFlushIsAnErrorAndIsRetried() throws {
        let dir = try TempDir()
        let store = CapturingLogHandler.Store()
        let plan = FaultPlan()
        var options = options(store)
        options.faultPlan = plan
        let db = try DB(path: dir.sub("db"), options: options)
        try db.put(bytes("a"), bytes("1"))
        plan.add(.init(kind: .fsync, nth: 1, errno: EIO, pathContains: ".sst"))
        // The first attempt fails (flush() may report it), the retry succeeds.
        _ = try? db.flush()
        var waitedMillis = 0
        while db.stats().flushes == 0 && waitedMillis < 10_000 {
            usleep(10_000)
            waitedMillis += 10
        }
        try db.close()
        let failures = store.with("flush failed; retrying")
        #expect(failures.count == 1)
        #expect(failures.first?.level == .error)
        #expect(failures.first?.metadata["error"]?.description.contains("Input/output error") == true,
                "\(failures.first?.metadata ?? [:])")
        #expect(store.with("flushed memtable").count == 1)
    }

    @Test func aTornLogTailDroppedByRecoveryIsAWarningNamingTheFile() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        try db.put(bytes("a"), bytes("1"), options: WriteOptions(sync: true))
        try db.put(bytes("b"), bytes(String(repeating: "x", count: 100)), options: WriteOptions(sync: true))
        db.impl.abandonForCrashTest()
        // Cut the last record in half, as a crash mid-append would.
        let log = try FileSystem.listDirectory(path).filter { $0.hasSuffix(".log") }.sorted().last!
        let file = try File.open(path + "/" + log, .readWrite)
        var bytesBack = [UInt8](repeating: 0, count: 4096)
        let n = try bytesBack.withUnsafeMutableBytes { try PosixBackend().read(fd: file.fd, into: $0, offset: 0) }
        // The second record starts after the first (9-byte header + 12-byte
        // batch header + 1 + 1 + 1 + 1 + 1 bytes of operation).
        let secondRecord = 9 + 12 + 5
        var zeros = [UInt8](repeating: 0, count: n - secondRecord - 40)
        _ = try zeros.withUnsafeMutableBytes {
            try PosixBackend().write(fd: file.fd, from: UnsafeRawBufferPointer($0), offset: UInt64(secondRecord + 40))
        }
        try file.close()
        let store = CapturingLogHandler.Store()
        let reopened = try DB(path: path, options: options(store))
        #expect(try reopened.get(bytes("a")) == bytes("1"))
        #expect(try reopened.get(bytes("b")) == nil)
        let report = reopened.impl.recovery
        try reopened.close()
        let drops = store.with("recovery dropped bytes")
        #expect(drops.count == 1)
        #expect(drops.first?.level == .warning)
        #expect(drops.first?.metadata["file"]?.description.hasSuffix(log) == true)
        // The event says what recovery's report says: where the drop
        // starts (at or after the second record), how much, where it went.
        #expect(report.drops.count == 1)
        if let drop = report.drops.first, let event = drops.first {
            #expect(drop.tail.offset >= UInt64(secondRecord))
            #expect(event.metadata["offset"] == "\(drop.tail.offset)")
            #expect(event.metadata["bytes"] == "\(drop.tail.byteCount)")
            #expect(event.metadata["kept_at"]?.description.contains("/lost/") == true, "\(event.metadata)")
        }
    }
}
