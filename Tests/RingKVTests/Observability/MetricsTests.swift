import Glibc
import MetricsTestKit
import RingIO
import Testing
@testable import RingKV

/// The `ringkv_…` metrics (docs/ARCHITECTURE.md §Logging and metrics),
/// captured by swift-metrics' test factory passed in `Options.metricsFactory`.
@Suite struct MetricsTests {
    @Test func countersEndEqualToStatsAndGaugesAndTimersAreRecorded() throws {
        let dir = try TempDir()
        let metrics = TestMetrics()
        var options = openOptions(memtableBytes: 16 << 10)
        options.metricsFactory = metrics
        options.metricsIntervalMillis = 5
        options.metricsName = "test-db"
        let db = try DB(path: dir.sub("db"), options: options)
        for i in 0..<1500 { try db.put(bytes("k\(i)"), bytes(String(repeating: "v", count: 40))) }
        for i in 0..<300 { _ = try db.get(bytes("k\(i)")) }
        try db.compactRange()
        usleep(30_000)  // a few export rounds while open
        let midway = try metrics.expectCounter("ringkv_writes_total", [("db", "test-db")]).totalValue
        #expect(midway > 0, "counters are exported while the database is open")
        let final = db.stats()
        try db.close()
        func total(_ label: String) throws -> Int64 {
            try metrics.expectCounter(label, [("db", "test-db")]).totalValue
        }
        // After close the counters hold exactly what stats() counted.
        #expect(try total("ringkv_writes_total") == Int64(final.writeBatches))
        #expect(try total("ringkv_wal_groups_total") == Int64(final.walGroups))
        #expect(try total("ringkv_wal_bytes_written_total") == Int64(final.walBytes))
        #expect(try total("ringkv_flushes_total") == Int64(final.flushes))
        #expect(try total("ringkv_compactions_total") == Int64(final.compactions))
        #expect(try total("ringkv_block_cache_misses_total") == Int64(final.blockCacheMisses))
        #expect(final.flushes > 0 && final.compactions > 0)
        let l0 = try metrics.expectGauge("ringkv_l0_files", [("db", "test-db")])
        #expect(l0.lastValue != nil)
        let flushTimer = try metrics.expectTimer("ringkv_flush_duration", [("db", "test-db")])
        #expect(flushTimer.values.count == Int(final.flushes))
        #expect(try metrics.expectTimer("ringkv_compaction_duration", [("db", "test-db")]).values.count
                == Int(final.compactions))
    }

    @Test func noBackendAndNoFactoryMeansNoExporter() throws {
        // The process-wide factory is swift-metrics' no-op one in this test
        // process (nothing bootstraps it): the engine builds no exporter.
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        #expect(db.impl.events.metrics == nil)
        var off = openOptions()
        off.metricsFactory = TestMetrics()
        off.metricsIntervalMillis = 0
        let quiet = try DB(path: dir.sub("db2"), options: off)
        #expect(quiet.impl.events.metrics == nil)
    }
}
