import Glibc
import Testing
@testable import RingKV

/// While a database is loading (flushes keep coming, no reads), L0 grows
/// to `l0CompactionTriggerWhileLoading` before an L0 -> L1 compaction;
/// reads or a pause bring it back to `l0CompactionTrigger`.
@Suite struct LoadPhaseTests {
    typealias F = CompactionFixtures
    private let second: UInt64 = 1_000_000_000

    // MARK: - The phase

    @Test func aDatabaseIsNotLoadingBeforeItsFirstFlush() {
        #expect(LoadPhase().endsAtNanos(nowNanos: 1, writes: 1_000, reads: 0) == nil)
    }

    @Test func writesWithoutReadsBetweenFlushesAreALoadUntilTheWindowEnds() {
        var phase = LoadPhase()
        phase.flushed(nowNanos: 10 * second, writes: 1_000, reads: 0)
        #expect(phase.endsAtNanos(nowNanos: 11 * second, writes: 1_500, reads: 0) == 15 * second)
        #expect(phase.endsAtNanos(nowNanos: 15 * second, writes: 1_500, reads: 0) == nil)
    }

    @Test func oneReadPerSixteenWritesIsStillALoadAndMoreIsNot() {
        var phase = LoadPhase()
        phase.flushed(nowNanos: second, writes: 1_600, reads: 100)
        #expect(phase.endsAtNanos(nowNanos: second, writes: 1_600, reads: 100) != nil)
        phase.flushed(nowNanos: 2 * second, writes: 3_200, reads: 201)
        #expect(phase.endsAtNanos(nowNanos: 2 * second, writes: 3_200, reads: 201) == nil)
    }

    @Test func readsSinceTheLastFlushEndThePhase() {
        var phase = LoadPhase()
        phase.flushed(nowNanos: second, writes: 1_000, reads: 0)
        #expect(phase.endsAtNanos(nowNanos: second, writes: 1_000, reads: 1) == nil)
        #expect(phase.endsAtNanos(nowNanos: second, writes: 1_016, reads: 1) != nil)
    }

    @Test func flushesWithNoWriteBetweenThemAreNoLoad() {
        var phase = LoadPhase()
        phase.flushed(nowNanos: second, writes: 1_000, reads: 0)
        phase.flushed(nowNanos: 2 * second, writes: 1_000, reads: 0)
        #expect(phase.endsAtNanos(nowNanos: 2 * second, writes: 1_000, reads: 0) == nil)
    }

    // MARK: - The picker

    @Test func whileLoadingL0WaitsForTheLoadingTriggerBelowTheSlowdownTrigger() {
        var options = Options()
        options.l0CompactionTrigger = 4
        options.l0CompactionTriggerWhileLoading = 8
        options.l0SlowdownTrigger = 20
        #expect(CompactionPicker(options: options).level0Trigger == 4)
        #expect(CompactionPicker(options: options, loading: true).level0Trigger == 8)
        options.l0SlowdownTrigger = 6
        #expect(CompactionPicker(options: options, loading: true).level0Trigger == 5)
        options.l0CompactionTriggerWhileLoading = 2
        #expect(CompactionPicker(options: options, loading: true).level0Trigger == 4)
    }

    // MARK: - A database

    private func options() -> Options {
        var options = F.smallOptions(memtableBytes: 1 << 20)
        options.l0CompactionTrigger = 2
        options.l0CompactionTriggerWhileLoading = 6
        options.l0SlowdownTrigger = 20
        options.l0StopTrigger = 30
        return options
    }

    /// Writes one L0 table's worth of keys (no read) and flushes it.
    private func writeTable(_ db: DB, _ t: Int) throws {
        for i in 0..<200 { try db.put(compactionKey(i), bytes("t\(t)-\(i)")) }
        try db.flush()
    }

    /// Waits until nothing flushes or compacts and the scheduler, with the
    /// database's own load phase, has nothing to pick; returns L0's count.
    private func settledLevel0(_ db: DB, seconds: Double = 30) -> Int? {
        let impl = db.impl
        let deadline = MonotonicClock.nanos() + UInt64(seconds * 1e9)
        while MonotonicClock.nanos() < deadline {
            let settled = impl.mu.withLock {
                impl.imm == nil && !impl.flushRunning && impl.compaction.isIdle
                    && CompactionPicker(options: impl.options, loading: impl.loadPhaseEndLocked() != nil).pick(
                        version: impl.versions.current,
                        compactPointers: (0..<Version.numLevels).map { impl.versions.compactPointer(level: $0) },
                        state: impl.compaction) == nil
            }
            if settled { return db.stats().levels[0].files }
            usleep(5_000)
        }
        return nil
    }

    @Test func aLoadLeavesL0AtTheLoadingTriggerAndAReadEndsThePhase() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: options())
        // A window no slow machine outlasts: only reads end this phase.
        db.impl.mu.withLock { db.impl.compaction.loadPhase.windowNanos = 600 * second }
        for t in 0..<5 {
            try writeTable(db, t)
            #expect(settledLevel0(db) == t + 1, "table \(t)")
        }
        #expect(db.stats().compactions == 0)
        #expect(db.impl.mu.withLock { db.impl.loadPhaseEndLocked() } != nil)
        #expect(try db.get(compactionKey(3)) == bytes("t4-3"))
        #expect(db.impl.mu.withLock { db.impl.loadPhaseEndLocked() } == nil)
        // Reads do not wake the workers; the next flush does, and it ends
        // an interval with a read in it, so the phase stays over.
        try db.put(bytes("after"), bytes("the read"))
        try db.flush()
        #expect(db.impl.mu.withLock { db.impl.loadPhaseEndLocked() } == nil)
        let level0 = try #require(settledLevel0(db))
        #expect(level0 < 2, "L0 holds \(level0) tables after the load")
        #expect(db.stats().compactions >= 1)
        for i in stride(from: 0, to: 200, by: 7) { #expect(try db.get(compactionKey(i)) == bytes("t4-\(i)")) }
        try db.close()
    }

    @Test func aPauseInTheLoadBringsL0Down() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: options())
        db.impl.mu.withLock { db.impl.compaction.loadPhase.windowNanos = 300_000_000 }
        for t in 0..<4 { try writeTable(db, t) }
        // No write and no read from here: the workers look again when the
        // window has passed since the last flush.
        let deadline = MonotonicClock.nanos() + 30 * second
        while db.stats().levels[0].files >= 2 && MonotonicClock.nanos() < deadline { usleep(10_000) }
        #expect(db.stats().levels[0].files < 2)
        try db.close()
    }
}
