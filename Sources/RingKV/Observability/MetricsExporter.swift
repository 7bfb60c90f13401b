import CoreMetrics
import RingIO
import Synchronization

/// Exports what `DB.stats()` counts to swift-metrics (docs/ARCHITECTURE.md
/// §Logging and metrics): counters `ringkv_…_total`, gauges and timers,
/// every one with a `db` dimension.
///
/// The write and read paths never touch a metric: a thread of the
/// database's own reads `stats()` every `Options.metricsIntervalMillis`
/// and adds each counter's growth since the last export (and once more at
/// close, so totals end exact). Only the timers — flush, compaction and
/// stall durations — are recorded at their events, which are rare. When no
/// metrics backend is bootstrapped and `Options.metricsFactory` is nil,
/// no exporter exists at all: the engine then does no metrics work.
final class MetricsExporter: Sendable {
    let flushDuration: CoreMetrics.Timer
    let compactionDuration: CoreMetrics.Timer
    let stallDuration: CoreMetrics.Timer

    private struct Exported: Sendable {
        let counter: CoreMetrics.Counter
        let read: @Sendable (DBStats) -> UInt64
    }

    private struct Level: Sendable {
        let gauge: Gauge
        let read: @Sendable (DBStats) -> Double
    }

    private let counters: [Exported]
    private let gauges: [Level]
    /// Each counter's value at the last export (guarded by its lock).
    private let exportedValues: Locked<[UInt64]>
    private let intervalNanos: UInt64
    private let wake = Monitor()
    /// Set by `stop` with `wake` held, and read with it held before the
    /// thread sleeps, so the stop cannot slip between check and wait.
    private let stopping = Atomic<Bool>(false)
    private let thread = Locked<BackgroundThread?>(nil)

    /// The exporter `options` ask for, or nil when metrics are off
    /// (`metricsIntervalMillis` 0) or no backend would receive them.
    static func make(options: Options, path: String) -> MetricsExporter? {
        guard options.metricsIntervalMillis > 0 else { return nil }
        let factory = options.metricsFactory ?? MetricsSystem.factory
        if options.metricsFactory == nil && factory is NOOPMetricsHandler { return nil }
        return MetricsExporter(factory: factory, name: options.metricsName ?? path,
                               intervalNanos: Self.nanos(millis: options.metricsIntervalMillis))
    }

    /// `millis` (≥ 1, validated) in nanoseconds, saturating: `Int.max` is
    /// a wait that never ends, not an overflow.
    static func nanos(millis: Int) -> UInt64 {
        let (nanos, overflow) = UInt64(millis).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? UInt64.max : nanos
    }

    private init(factory: any MetricsFactory, name: String, intervalNanos: UInt64) {
        let dimensions = [("db", name)]
        func counter(_ label: String, _ read: @escaping @Sendable (DBStats) -> UInt64) -> Exported {
            Exported(counter: CoreMetrics.Counter(label: "ringkv_" + label, dimensions: dimensions, factory: factory), read: read)
        }
        func gauge(_ label: String, _ read: @escaping @Sendable (DBStats) -> Double) -> Level {
            Level(gauge: Gauge(label: "ringkv_" + label, dimensions: dimensions, factory: factory), read: read)
        }
        counters = [
            counter("writes_total") { $0.writeBatches },
            counter("wal_groups_total") { $0.walGroups },
            counter("wal_synced_groups_total") { $0.walSyncedGroups },
            counter("wal_bytes_written_total") { $0.walBytes },
            counter("flushes_total") { $0.flushes },
            counter("flush_failures_total") { $0.flushFailures },
            counter("flush_bytes_written_total") { $0.flushBytesWritten },
            counter("compactions_total") { $0.compactions },
            counter("trivial_moves_total") { $0.trivialMoves },
            counter("compaction_failures_total") { $0.compactionFailures },
            counter("compaction_bytes_read_total") { $0.compactionBytesRead },
            counter("compaction_bytes_written_total") { $0.compactionBytesWritten },
            counter("stalls_total") { $0.stalls },
            counter("slowdowns_total") { $0.slowdowns },
            counter("block_cache_hits_total") { $0.blockCacheHits },
            counter("block_cache_misses_total") { $0.blockCacheMisses },
            counter("block_cache_evictions_total") { $0.blockCacheEvictions },
            counter("read_batches_total") { $0.lookupReadBatches },
            counter("blocks_read_total") { $0.lookupBlocksRead },
            counter("iterator_blocks_read_total") { $0.iteratorBlocksRead },
        ]
        gauges = [
            gauge("l0_files") { Double($0.levels.first?.files ?? 0) },
            gauge("table_files") { Double($0.levels.reduce(0) { $0 + $1.files }) },
            gauge("table_bytes") { Double($0.levels.reduce(0) { $0 + $1.bytes }) },
            gauge("memtable_bytes") { Double($0.memtableBytes) },
            gauge("immutable_memtable_bytes") { Double($0.immutableMemtableBytes) },
            gauge("block_cache_usage_bytes") { Double($0.blockCacheUsageBytes) },
            gauge("open_tables") { Double($0.openTables) },
            gauge("live_snapshots") { Double($0.liveSnapshots) },
            gauge("last_sequence") { Double($0.lastSequence) },
        ]
        flushDuration = CoreMetrics.Timer(label: "ringkv_flush_duration", dimensions: dimensions, factory: factory)
        compactionDuration = CoreMetrics.Timer(label: "ringkv_compaction_duration", dimensions: dimensions, factory: factory)
        stallDuration = CoreMetrics.Timer(label: "ringkv_stall_duration", dimensions: dimensions, factory: factory)
        exportedValues = Locked(Array(repeating: 0, count: counters.count))
        self.intervalNanos = intervalNanos
    }

    /// Starts the export thread; `stats` is called on it.
    /// - Throws: `DBError.io` when the thread cannot start.
    func start(stats: @escaping @Sendable () -> DBStats) throws(DBError) {
        let started = try BackgroundThread { [self] in
            while true {
                let stop = wake.withLock { () -> Bool in
                    if stopping.load(ordering: .relaxed) { return true }
                    wake.wait(nanoseconds: intervalNanos)
                    return stopping.load(ordering: .relaxed)
                }
                if stop { return }
                export(stats())
            }
        }
        thread.withLock { $0 = started }
    }

    /// Stops the thread and exports a last time from `final`.
    func stop(final: DBStats) {
        wake.withLock {
            stopping.store(true, ordering: .relaxed)
            wake.broadcast()
        }
        thread.withLock { $0 }?.join()
        export(final)
    }

    /// Adds each counter's growth since the last export; sets the gauges.
    func export(_ stats: DBStats) {
        exportedValues.withLock { last in
            for (i, exported) in counters.enumerated() {
                let now = exported.read(stats)
                if now > last[i] { exported.counter.increment(by: Int64(clamping: now - last[i])) }
                last[i] = max(last[i], now)
            }
        }
        for level in gauges { level.gauge.record(level.read(stats)) }
    }
}
