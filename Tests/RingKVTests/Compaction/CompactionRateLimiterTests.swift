import Testing
@testable import RingKV

/// `Options.compactionWriteBytesPerSecond`: compactions sleep when their
/// outputs run ahead of the rate; flushes and unlimited databases do not.
@Suite struct CompactionRateLimiterTests {
    typealias F = CompactionFixtures
    private let millisecond: UInt64 = 1_000_000

    @Test func noRateMeansNoLimiter() {
        #expect(CompactionRateLimiter(bytesPerSecond: 0) == nil)
    }

    @Test func chargesWithinTheBurstDoNotSleep() throws {
        let limiter = try #require(CompactionRateLimiter(bytesPerSecond: 100 << 20))
        limiter.pace(bytes: 1 << 20, abandon: { false })  // 10 ms of the rate
        limiter.pace(bytes: 1 << 20, abandon: { false })
        #expect(limiter.sleptNanos.current == 0)
    }

    @Test func chargesAheadOfTheRateSleepTheDifference() throws {
        let limiter = try #require(CompactionRateLimiter(bytesPerSecond: 100 << 20))
        limiter.pace(bytes: 20 << 20, abandon: { false })  // 200 ms of the rate, 50 ms of burst
        #expect(limiter.sleptNanos.current >= 150 * millisecond)
    }

    @Test func anAbandonedJobStopsSleeping() throws {
        let limiter = try #require(CompactionRateLimiter(bytesPerSecond: 1 << 20))
        limiter.pace(bytes: 100 << 20, abandon: { true })  // 100 s of the rate
        #expect(limiter.sleptNanos.current < 1_000 * millisecond)
    }

    @Test func hugeChargesSaturateInsteadOfWrapping() throws {
        let limiter = try #require(CompactionRateLimiter(bytesPerSecond: 1))
        limiter.pace(bytes: .max, abandon: { true })
        limiter.pace(bytes: .max, abandon: { true })
        #expect(limiter.sleptNanos.current < 1_000 * millisecond)
    }

    /// 100 bytes LZ4 cannot shrink, different for every `i`.
    private func value(_ i: Int) -> [UInt8] {
        var state = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<100).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    @Test func aLimitedDatabaseCompactsAtItsRateAndKeepsEveryKey() throws {
        let dir = try TempDir()
        var options = F.smallOptions(memtableBytes: 256 << 10)
        // Every charge (1,024 entries of over 100 bytes) costs more than
        // the 50 ms burst at this rate, so the compaction sleeps however
        // fast or slow it runs.
        options.compactionWriteBytesPerSecond = 1 << 20
        let db = try DB(path: dir.sub("db"), options: options)
        for i in 0..<6_000 { try db.put(compactionKey(i), value(i)) }
        try db.compactRange()
        let limiter = try #require(db.impl.compactionLimiter)
        #expect(limiter.sleptNanos.current > 0, "over 600 kB of outputs at 1 MiB/s never slept")
        for i in stride(from: 0, to: 6_000, by: 97) { #expect(try db.get(compactionKey(i)) == value(i)) }
        try db.close()
    }

    @Test func anUnlimitedDatabaseHasNoLimiter() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: F.smallOptions())
        #expect(db.impl.compactionLimiter == nil)
        try db.close()
    }
}
