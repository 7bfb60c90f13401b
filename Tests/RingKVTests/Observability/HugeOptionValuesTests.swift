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

/// A WAL preallocation step too large for any disk is an error at the
/// first write that needs it (fallocate refuses it), not a trap at open.
@Suite struct HugeWALPreallocationTests {
    @Test func theLargestWALPreallocationStepIsAnErrorNotATrap() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.walPreallocateBytes = UInt64.max
        do {
            let db = try DB(path: dir.sub("db"), options: options)
            defer { try? db.close() }
            do {
                try db.put(bytes("k"), bytes("v"))
                Issue.record("a put into a WAL step of UInt64.max bytes succeeded")
            } catch {
                print("put refused: \(error)")
            }
        } catch {
            print("refused at open: \(error)")
        }
    }
}
