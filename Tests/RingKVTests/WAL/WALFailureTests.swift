import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// The WAL under failures at the ring seam and at its file's growth
/// (issue #15 items 4, 6 and 7; docs/ARCHITECTURE.md §Failures): no hang,
/// no buffer freed while the kernel may use it, and a write reported failed
/// at the fallocate is not in the database after reopening.
@Suite struct WALFailureTests {
    func options(_ plan: FaultPlan?) -> Options {
        var o = openOptions()
        o.faultPlan = plan
        return o
    }

    /// ENOSPC at the fallocate that grows the log: the group is refused
    /// before any of its bytes reach the file, so after reopening the write
    /// is not there. (The old WAL linked the fallocate to the zero fill,
    /// not to the group's write, and a failed fallocate did not cancel its
    /// successor anyway: the write went through and was durable.)
    @Test(arguments: [false, true])
    func writeFailedAtTheFallocateIsNotThereAfterReopen(sync: Bool) throws {
        let dir = try TempDir()
        let plan = FaultPlan([.init(kind: .fallocate, nth: 1, errno: ENOSPC, pathContains: ".log")])
        let db = try DB(path: dir.sub("db"), options: options(plan))
        #expect { try db.put("k", "v", options: WriteOptions(sync: sync)) } throws: {
            ($0 as? DBError)?.isNoSpace == true
        }
        #expect(plan.injectedCount == 1)
        #expect { try db.put("k2", "v2") } throws: { if case DBError.readOnly = $0 { true } else { false } }
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: options(nil))
        #expect(try reopened.get("k") == nil, "a write reported failed is in the database")
        try reopened.put("k3", "v3")
        try reopened.close()
    }

    /// Every io_uring_enter of the WAL's ring takes only half of what is
    /// prepared (the write, not its linked fdatasync): synced writes still
    /// complete, none is lost, and nothing hangs (the old leader waited in
    /// io_uring_wait_cqe for an fdatasync it never submitted, holding the
    /// only WAL slot).
    @Test func partialSubmissionsOnTheWALRingNeitherHangNorLoseWrites() throws {
        let dir = try TempDir()
        let plan = FaultPlan([FaultPlan.Rule(partialSubmitNth: 1, sticky: true, pathContains: ".log")])
        let db = try DB(path: dir.sub("db"), options: options(plan))
        let threads = 4, perThread = 25
        let finished = completes(within: 60) {
            let workers = (0..<threads).map { t in
                BackgroundThread.spawn {
                    for i in 0..<perThread {
                        // Two puts: a synced group of one operation would
                        // skip the ring (WALWriter.syncViaSyscallsMaxOperations).
                        var batch = WriteBatch()
                        batch.put(bytes("t\(t)-\(i)"), bytes("v\(i)"))
                        batch.put(bytes("t\(t)-\(i)+"), bytes("v\(i)"))
                        try? db.write(batch, options: WriteOptions(sync: true))
                    }
                }
            }
            for worker in workers { worker.join() }
        }
        #expect(finished, "synced writes hung with partial submissions on the WAL ring")
        // A hung database cannot be closed: keep it, so the suite goes on.
        guard finished else { return _ = Unmanaged.passRetained(db) }
        #expect(plan.injectedCount > 0)
        #expect(db.stats().writeBatches == UInt64(threads * perThread))
        try db.close()
        let reopened = try DB(path: dir.sub("db"), options: options(nil))
        for t in 0..<threads {
            for i in 0..<perThread {
                #expect(try reopened.get(bytes("t\(t)-\(i)")) == bytes("v\(i)"))
                #expect(try reopened.get(bytes("t\(t)-\(i)+")) == bytes("v\(i)"))
            }
        }
        try reopened.close()
    }

    /// The WAL's ring answers EAGAIN and EBUSY to its first enters: the
    /// writes still go through (they came back as "0 submitted" before).
    /// Batches of two puts: a synced group of one operation skips the ring
    /// (WALWriter.syncViaSyscallsMaxOperations).
    @Test func refusedEntersOnTheWALRingAreRetried() throws {
        let dir = try TempDir()
        let plan = FaultPlan((1...6).map {
            FaultPlan.Rule(kind: .ringBusy, nth: $0, errno: $0 % 2 == 0 ? EBUSY : EAGAIN, pathContains: ".log")
        })
        let db = try DB(path: dir.sub("db"), options: options(plan))
        let finished = completes(within: 60) {
            for i in 0..<20 {
                var batch = WriteBatch()
                batch.put(bytes("k\(i)"), bytes("v\(i)"))
                batch.put(bytes("k\(i)+"), bytes("v\(i)"))
                try? db.write(batch, options: WriteOptions(sync: true))
            }
        }
        #expect(finished, "synced writes hung on a ring answering EAGAIN/EBUSY")
        guard finished else { return _ = Unmanaged.passRetained(db) }
        #expect(plan.injectedCount == 6)
        for i in 0..<20 { #expect(try db.get("k\(i)") == "v\(i)") }
        try db.close()
    }

    /// io_uring_enter fails after the kernel took the group's write (I/O in
    /// flight): the group fails, the database turns read-only, and the
    /// memory the write points at — an oversized group's own buffer, or a
    /// registered one — is never freed, even after the database is closed
    /// and gone. The late touch reads it as the kernel still could; under
    /// AddressSanitizer (tools/test-asan) a freed buffer is reported there.
    /// A batch of two puts: a synced group of one operation skips the ring.
    @Test(arguments: [200 << 10, 100])
    func ringFailureWithTheGroupInFlightLeaksItsBuffer(valueBytes: Int) throws {
        let dir = try TempDir()
        let plan = FaultPlan([.init(kind: .ringFailure, nth: 1, errno: ENXIO, pathContains: ".log")])
        let keptBefore = Quarantine.keptCount
        do {
            var o = options(plan)
            o.walBufferSizeBytes = 4096
            let db = try DB(path: dir.sub("db"), options: o)
            let value = [UInt8](repeating: 0x5A, count: valueBytes)
            var batch = WriteBatch()
            batch.put(bytes("big"), value)
            batch.put(bytes("small"), bytes("x"))
            #expect { try db.write(batch, options: WriteOptions(sync: true)) } throws: {
                guard case DBError.io(let io) = $0 else { return false }
                return io.errno == ENXIO
            }
            #expect { try db.put("after", "x") } throws: { if case DBError.readOnly = $0 { true } else { false } }
            try db.close()
        }
        // The database and its WAL are gone; what the kernel was given is not.
        #expect(Quarantine.keptCount > keptBefore)
        #expect(!plan.memoryInFlightAtFailures.ranges.isEmpty)
        plan.touchMemoryInFlightAtFailures()
    }
}
