import Testing
@testable import RingKV

/// Writes slow down in proportion to their bytes and to the L0 backlog
/// (`WritePacer`), not by a fixed sleep per write.
@Suite struct WritePacerTests {
    @Test func theRateFallsByAQuarterPerTablePastTheTrigger() throws {
        #expect(WritePacer.rateBytesPerSecond(level0Files: 19, slowdownTrigger: 20) == nil)
        let atTrigger = try #require(WritePacer.rateBytesPerSecond(level0Files: 20, slowdownTrigger: 20))
        #expect(atTrigger == 16 * 1_048_576)
        let four = try #require(WritePacer.rateBytesPerSecond(level0Files: 24, slowdownTrigger: 20))
        #expect(abs(four - atTrigger * 0.75 * 0.75 * 0.75 * 0.75) < 1)
    }

    @Test func debtIsSleptOnceItReachesOneMillisecond() {
        var pacer = WritePacer()
        // 1 KiB at 16 MiB/s owes 61 µs: the seventeenth passes 1 ms.
        for _ in 0..<16 { pacer.committed(bytes: 1024, level0Files: 20, slowdownTrigger: 20) }
        #expect(pacer.takeSleep() == 0)
        pacer.committed(bytes: 1024, level0Files: 20, slowdownTrigger: 20)
        let nanos = pacer.takeSleep()
        #expect(nanos >= 1_037_000 && nanos <= 1_038_000)
        #expect(pacer.takeSleep() == 0 && pacer.debtNanos == 0)
        // Below the trigger the debt is forgiven.
        for _ in 0..<15 { pacer.committed(bytes: 1024, level0Files: 20, slowdownTrigger: 20) }
        pacer.committed(bytes: 1024, level0Files: 3, slowdownTrigger: 20)
        #expect(pacer.takeSleep() == 0)
    }

    /// One writer, L0 held at the slowdown trigger: 2,000 writes of about
    /// 1 KiB owe ~120 ms at 16 MiB/s, slept in ~120 sleeps of 1 ms — the
    /// former rule slept 1 ms per write (2,000 sleeps).
    @Test func writesAtTheTriggerArePacedByTheirBytes() throws {
        let dir = try TempDir()
        var options = CompactionFixtures.smallOptions(memtableBytes: 1 << 20)
        options.l0CompactionTrigger = 100
        options.l0SlowdownTrigger = 2
        options.l0StopTrigger = 300
        let db = try DB(path: dir.sub("db"), options: options)
        for round in 0..<2 {
            try db.put(compactionKey(round), bytes("x"))
            try db.flush()
        }
        #expect(db.stats().levels[0].files == 2)
        let value = [UInt8](repeating: 9, count: 1000)
        for i in 0..<2000 { try db.put(compactionKey(i), value) }
        let stats = db.stats()
        #expect(stats.slowdowns >= 60 && stats.slowdowns <= 200, "\(stats.slowdowns) sleeps")
        try db.close()
    }
}
