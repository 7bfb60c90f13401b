import Glibc
import Testing
@testable import RingKV

/// Lock rules checked in debug builds (Util/Monitor.swift): `assertHeld`
/// at the top of every `…Locked` function traps when the caller does not
/// hold `mu`. The suite runs debug builds, so every test that writes,
/// flushes or compacts exercises those checks; these tests show the check
/// itself answers right and that a `…Locked` function called without the
/// lock really stops the process (in a child process, so the runner lives).
@Suite struct LockRuleTests {
    #if DEBUG
    @Test func theMonitorKnowsWhetherTheCallingThreadHoldsIt() {
        let monitor = Monitor()
        #expect(!monitor.isHeldByCurrentThread)
        monitor.lock()
        #expect(monitor.isHeldByCurrentThread)
        // Held by this thread, not by another.
        let seenElsewhere = Locked(true)
        BackgroundThread.spawn { seenElsewhere.withLock { $0 = monitor.isHeldByCurrentThread } }.join()
        #expect(!seenElsewhere.withLock { $0 })
        monitor.unlock()
        #expect(!monitor.isHeldByCurrentThread)
    }

    @Test func aTimedWaitGivesTheLockUpAndTakesItBack() {
        let monitor = Monitor()
        let condition = Monitor.Condition()
        monitor.lock()
        // While this thread waits, another takes the lock: it is the holder then.
        let heldByOther = Locked(false)
        let other = BackgroundThread.spawn {
            monitor.lock()
            heldByOther.withLock { $0 = monitor.isHeldByCurrentThread }
            monitor.unlock()
        }
        monitor.wait(nanoseconds: 50_000_000)
        #expect(monitor.isHeldByCurrentThread)
        condition.wait(monitor, nanoseconds: 1_000_000)
        #expect(monitor.isHeldByCurrentThread)
        monitor.unlock()
        other.join()
        #expect(heldByOther.withLock { $0 })
    }

    @Test func aLockedFunctionCalledWithoutTheLockStopsTheProcess() async throws {
        await #expect(processExitsWith: .failure) {
            Monitor().assertHeld()
        }
        await #expect(processExitsWith: .failure) {
            let dir = try TempDir()
            let db = try DB(path: dir.sub("db"), options: openOptions())
            _ = db.impl.makeStatsLocked()
        }
        // The same call with the lock held is fine.
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        let stats = db.impl.mu.withLock { db.impl.makeStatsLocked() }
        #expect(stats.lastSequence == 0)
        try await db.close()
    }
    #else
    @Test func releaseBuildsCheckNothing() {
        // assertHeld compiles to nothing: calling it unlocked is harmless.
        Monitor().assertHeld()
    }
    #endif
}
