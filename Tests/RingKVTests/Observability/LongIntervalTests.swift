import MetricsTestKit
import Testing
@testable import RingKV

/// An option that asks for the longest wait (`Int.max` milliseconds of
/// metrics interval) is a long wait, not an overflow trap at open: the
/// exporter's interval and every timed wait's deadline saturate.
@Suite struct LongIntervalTests {
    @Test func theLargestMetricsIntervalOpensWritesAndCloses() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.metricsFactory = TestMetrics()
        options.metricsIntervalMillis = Int.max
        let db = try DB(path: dir.sub("db"), options: options)
        try db.put(bytes("k"), bytes("v"))
        #expect(try db.get(bytes("k")) == bytes("v"))
        try db.close()
    }

    @Test func monitorDeadlinesOfTheLargestWaitsDoNotOverflow() {
        let far = Monitor.deadline(after: UInt64.max)
        let near = Monitor.deadline(after: 0)
        #expect(far.tv_sec > near.tv_sec + 100 * 365 * 86_400)
        #expect((0..<1_000_000_000).contains(far.tv_nsec))
    }
}
