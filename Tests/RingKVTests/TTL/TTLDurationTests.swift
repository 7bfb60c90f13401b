import Testing
@testable import RingKV

/// A keyspace's ttl in nanoseconds (`TTLPolicy.nanos`): a ttl too long
/// for 63 bits of nanoseconds is clamped to Int64.max nanoseconds (about
/// 292 years), never wrapped to a short one — a wrapped ttl would expire
/// and compact away every value at once.
@Suite struct TTLDurationTests {
    /// 18 446 744 073 s times 10⁹ fits in a UInt64 with 0.71 s to spare;
    /// 0.8 s more used to wrap around to 90 ms.
    static let nearWrap: Duration = .seconds(18_446_744_073) + .milliseconds(800)

    @Test func aTTLPastTheNanosecondRangeIsClampedNotWrapped() {
        #expect(TTLPolicy.nanos(Self.nearWrap) == UInt64(Int64.max))
        #expect(TTLPolicy.nanos(.seconds(18_446_744_073)) == UInt64(Int64.max))
        #expect(TTLPolicy.nanos(.seconds(Int64.max)) == UInt64(Int64.max))
        #expect(TTLPolicy.nanos(.seconds(9_223_372_036) + .nanoseconds(854_775_807)) == UInt64(Int64.max))
        #expect(TTLPolicy.nanos(.seconds(1) + .milliseconds(500)) == 1_500_000_000)
        #expect(TTLPolicy.nanos(.nanoseconds(1)) == 1)
    }

    @Test func aValueInAKeyspaceWithAVeryLongTTLOutlivesASecond() throws {
        let clock = TTLTestClock()
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: TTLFixtures.options(clock))
        defer { try? db.close() }
        let ks = try db.keyspace("long", options: KeyspaceOptions(ttl: Self.nearWrap))
        try ks.put("k", "v")
        clock.advanceSeconds(1)
        #expect(try ks.get("k") == "v")
        try ks.flush()
        try ks.compactRange()
        #expect(try ks.get("k") == "v")
    }
}
