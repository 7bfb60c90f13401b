import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

#if DEBUG
/// A synced group of at most `WALWriter.syncViaSyscallsMaxOperations`
/// operations (a lone writer's put) is written with pwrite + fdatasync on
/// the leader instead of through the log's ring (on ext4 the ring hands
/// the buffered write and the fsync to an io-wq worker: a hand-off that
/// costs a lone writer more than it gains). Larger groups keep the ring.
/// Both still pass through the log's seam (fault injection and the crash
/// simulation's durability tracking see every group), and an acknowledged
/// put survives a power cut.
@Suite struct WALSmallGroupTests {
    /// What `CountingSeam`'s hooks saw.
    struct Counts {
        /// io_uring_enter calls that submitted on a log file's ring.
        var logRingSubmits = 0
        /// Synced groups handed to the log (`appendAndSync`).
        var syncedGroups = 0
    }

    /// A `FaultPlan` (its crash simulation tracks what was synced) whose
    /// hooks are counted on the way through.
    final class CountingSeam: IOSeam {
        let plan: FaultPlan
        /// Guarded by its own lock: hooks run on the writer threads.
        let counts = Locked(Counts())
        init(_ plan: FaultPlan) { self.plan = plan }
        func wrap(_ backend: any IOBackend) -> any IOBackend { plan.wrap(backend) }
        func hooks(label: String?) -> any IOHooks {
            CountingHooks(inner: plan.hooks(label: label), label: label, counts: counts)
        }
    }

    struct CountingHooks: IOHooks {
        let inner: any IOHooks
        /// A log file's path; nil for a backend's rings.
        let label: String?
        let counts: Locked<Counts>

        func ringSetup() -> Int32? { inner.ringSetup() }
        func ringEnter(submitting: Bool, readySQEs: Int) -> RingEnterFault? {
            if submitting && readySQEs > 0 && label?.hasSuffix(".log") == true {
                counts.withLock { $0.logRingSubmits += 1 }
            }
            return inner.ringEnter(submitting: submitting, readySQEs: readySQEs)
        }
        func ringFailed(memoryInFlight: [(address: UInt, count: Int)]) {
            inner.ringFailed(memoryInFlight: memoryInFlight)
        }
        func transferred(isWrite: Bool, fd: Int32, moved: Int) -> Int {
            inner.transferred(isWrite: isWrite, fd: fd, moved: moved)
        }
        func append(_ log: LogFile, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError) {
            try inner.append(log, bytes, at: offset)
        }
        func appendAndSync(_ log: LogFile, _ group: LogFile.Group, duringIO: () -> Void) throws(IOError) {
            counts.withLock { $0.syncedGroups += 1 }
            try inner.appendAndSync(log, group, duringIO: duringIO)
        }
        func sync(_ log: LogFile, through endOffset: UInt64) throws(IOError) {
            try inner.sync(log, through: endOffset)
        }
        func preallocate(_ log: LogFile, offset: UInt64, length: UInt64) throws(IOError) {
            try inner.preallocate(log, offset: offset, length: length)
        }
    }

    static func options(_ seam: CountingSeam?) -> Options {
        var o = Options()
        o.createIfMissing = true
        o.walPreallocateBytes = 1 << 20
        o.ioSeam = seam
        return o
    }

    static func contents(_ path: String) throws -> [String: String] {
        try stringContents(path, options: options(nil))
    }

    @Test func loneSyncedWriterSkipsTheRingAndItsPutsSurviveAPowerCut() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let seam = CountingSeam(FaultPlan())
        let db = try DB(path: path, options: Self.options(seam))
        // io_uring refused here: every group takes syscalls anyway.
        guard db.impl.walIOPath == .ioUring else { return try db.close() }
        let value = String(repeating: "v", count: 1000)
        var expected: [String: String] = [:]
        // Past the first 1 MiB zero fill ahead of the log's end (each put
        // is ~1 KiB of log), so later groups also carry the fill.
        for i in 0..<1500 {
            try db.put("key\(i)", value + "\(i)", options: WriteOptions(sync: true))
            expected["key\(i)"] = value + "\(i)"
        }
        let counts = seam.counts.withLock { $0 }
        #expect(counts.syncedGroups == 1500, "every acknowledged put is one synced group through the seam")
        #expect(counts.logRingSubmits == 0, "a lone writer's synced puts went through the log's ring")
        // Acknowledged means fdatasync completed: nothing is lost when
        // every unsynced page is dropped.
        db.impl.abandonForCrashTest()
        let report = try seam.plan.simulateCrash(tear: .pages, directories: .undoAll, seed: 1)
        #expect(try Self.contents(path) == expected, "crash: \(report)")
    }

    @Test func syncedBatchOfSeveralOperationsKeepsTheRing() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let seam = CountingSeam(FaultPlan())
        let db = try DB(path: path, options: Self.options(seam))
        guard db.impl.walIOPath == .ioUring else { return try db.close() }
        var expected: [String: String] = [:]
        for round in 0..<4 {
            var batch = WriteBatch()
            for i in 0..<8 {
                batch.put(Array("b\(round)-\(i)".utf8), Array("value\(i)".utf8))
                expected["b\(round)-\(i)"] = "value\(i)"
            }
            try db.write(batch, options: WriteOptions(sync: true))
        }
        let counts = seam.counts.withLock { $0 }
        #expect(counts.syncedGroups == 4)
        #expect(counts.logRingSubmits >= 4, "groups of 8 operations left the ring")
        db.impl.abandonForCrashTest()
        let report = try seam.plan.simulateCrash(tear: .pages, directories: .undoAll, seed: 2)
        #expect(try Self.contents(path) == expected, "crash: \(report)")
    }
}
#endif
