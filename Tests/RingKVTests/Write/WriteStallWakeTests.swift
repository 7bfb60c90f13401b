import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Writers stalled on L0 (Write/WriteStall.swift) go on as soon as a
/// compaction step brought L0 below the stop trigger — also the steps of a
/// manual compaction, not only its end (issue #15 item 11).
@Suite struct WriteStallWakeTests {
    @Test func writerStalledOnL0GoesOnAfterTheFirstManualCompactionStep() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        // Phase 1: data spread down to a deep level, so a later manual
        // compaction takes several steps (L0→L1, L1→L2, ...).
        var deep = CompactionFixtures.smallOptions(memtableBytes: 16 << 10, l1Bytes: 8 << 10, multiplier: 2)
        deep.compression = false
        do {
            let db = try DB(path: path, options: deep)
            for i in 0..<3000 { try db.put(compactionKey(i), [UInt8](repeating: UInt8(i & 0xff), count: 100)) }
            try db.compactRange()
            try db.close()
        }
        // Phase 2: writes stop at 3 L0 tables, and no automatic compaction
        // runs (as while a manual one waits to start), so only the manual
        // compaction below can bring L0 down.
        var options = openOptions(memtableBytes: 16 << 10)
        options.l1TargetSizeBytes = 1 << 40
        options.l0SlowdownTrigger = 100
        options.l0StopTrigger = 3
        let plan = FaultPlan()
        options.faultPlan = plan
        let db = try DB(path: path, options: options)
        db.impl.mu.withLock { db.impl.compaction.manualWaiting += 1 }
        #expect(CompactionFixtures.nonEmptyLevels(db).count == 1)
        let writerReturned = Locked(false)
        let writer = BackgroundThread.spawn {
            // Puts until one of them stalls (L0 reaches the stop trigger
            // and the memtable fills again) and returns: a put that took
            // over 100 ms while a stall was counted (a sanitizer build can
            // be that slow without one). Stop right there: later puts could
            // fill L0 up to the trigger again and stall until the manual
            // compaction ends.
            let value = [UInt8](repeating: 7, count: 1000)
            for i in 0..<100_000 {
                let started = MonotonicClock.nanos()
                try? db.put(bytes("w\(i)"), value)
                if MonotonicClock.nanos() - started > 100_000_000 && db.stats().stalls > 0 { break }
            }
            writerReturned.withLock { $0 = true }
        }
        var waitedMillis = 0
        while db.stats().levels[0].files < 3 && waitedMillis < 30_000 {
            usleep(10_000)
            waitedMillis += 10
        }
        usleep(300_000)  // the writer is stalled by now
        #expect(!writerReturned.withLock { $0 }, "the writer did not stall")
        // After the first step the rest of the manual compaction waits (up
        // to 20 s) for the stalled writer to return: it must have been
        // woken by that step, not by the end of the whole compaction. The
        // wait sits before the first table removal on this thread (which
        // runs the manual compaction): the sweep of the first step's
        // inputs, right after that step installed its result and woke the
        // stalled writers.
        let returnedAfterFirstStep = Locked<Bool?>(nil)
        let caller = pthread_self()
        plan.add(.init(kind: .remove, pathContains: ".sst", onlyIf: { pthread_equal(pthread_self(), caller) != 0 }) {
            if returnedAfterFirstStep.withLock({ $0 }) != nil { return }
            var waited = 0
            while !writerReturned.withLock({ $0 }) && waited < 20_000 {
                usleep(1000)
                waited += 1
            }
            returnedAfterFirstStep.withLock { $0 = writerReturned.withLock { $0 } }
        })
        try db.impl.compactAll()
        db.impl.mu.withLock {
            db.impl.compaction.manualWaiting -= 1
            db.impl.wakeAllLocked()
        }
        writer.join()
        #expect(returnedAfterFirstStep.withLock { $0 } == true,
                "the stalled writer was not woken by the first step of the manual compaction")
        #expect(db.stats().stalls >= 1)
        try db.close()
    }
}
