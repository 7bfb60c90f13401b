import RingKV

/// One kvbench run: the command line, parsed.
public struct BenchConfig: Sendable {
    public var workload: Workload
    /// Records loaded (load) or already in the database (a–f).
    public var records: Int64
    /// Operations of a–f (load does `records` inserts).
    public var operations: Int64
    public var valueSizeBytes: Int
    public var threads: Int
    /// Request key distribution (a–f); defaults to the workload's.
    public var distribution: KeyDistribution
    /// `--sync always`: every write waits for its group's fdatasync.
    public var sync: Bool
    public var seed: UInt64
    public var directReads: Bool
    public var cacheMB: Int
    public var memtableMB: Int
    /// `--batch N` (1...64): read operations go N keys at a time through
    /// one `multiGet`, counted as N operations (as ../shared/peers'
    /// ycsb_rocksdb.c counts MultiGet).
    public var batch: Int
    /// `--reverse-scans`: scans (workload E) walk backward from their start
    /// key (`seek(forPrev:)` + `prev`) instead of forward.
    public var reverseScans = false
    /// `--sync-read-ahead`: iterators read their read-ahead windows when
    /// the cursor reaches them (`ReadOptions.asyncPrefetch = false`).
    public var syncReadAhead = false
    /// `--posix-io`: `Options.forcePosixIO` (pread/pwrite/fdatasync, no io_uring).
    public var posixIO = false
    /// `--keyspaces N`: records spread over N keyspaces, record i in
    /// keyspace i % N (`BenchTargets`); 1 = the database's own methods.
    public var keyspaces = 1
    /// `--memtable-budget-mb`: `Options.totalMemtableSizeBytes` in MiB (0:
    /// the engine's default, 4 × `--memtable-mb`). With it equal to
    /// `--memtable-mb`, N keyspaces hold as much memtable memory as one.
    public var memtableBudgetMB = 0
    /// `--compaction-rate-mb`: `Options.compactionWriteBytesPerSecond` in
    /// MiB/s (0: no limit, the engine's default).
    public var compactionRateMB = 0
    /// `--read-poll-micros`: `Options.readPollMicros` (nil: the engine's default).
    public var readPollMicros: Int?

    /// The largest `--batch`.
    public static let maxBatch = 64

    public init(workload: Workload, records: Int64, operations: Int64, valueSizeBytes: Int = 1000, threads: Int = 1,
                distribution: KeyDistribution? = nil, sync: Bool = false, seed: UInt64 = 1,
                directReads: Bool = false, cacheMB: Int = 64, memtableMB: Int = 64, batch: Int = 1) {
        precondition(batch >= 1 && batch <= BenchConfig.maxBatch, "batch must be 1...\(BenchConfig.maxBatch)")
        self.workload = workload
        self.records = records
        self.operations = operations
        self.valueSizeBytes = valueSizeBytes
        self.threads = threads
        self.distribution = distribution ?? workload.mix.distribution
        self.sync = sync
        self.seed = seed
        self.directReads = directReads
        self.cacheMB = cacheMB
        self.memtableMB = memtableMB
        self.batch = batch
    }

    /// Operations this run performs.
    public var totalOperations: Int64 { workload == .load ? records : operations }

    /// The engine options the flags map to (`--direct-reads`, `--cache-mb`,
    /// `--memtable-mb`); everything else keeps the engine's defaults.
    /// `--direct-reads` sets `directTableWrites` too, as ycsb_rocksdb's
    /// `--direct` sets RocksDB's `use_direct_reads` and
    /// `use_direct_io_for_flush_and_compaction`.
    public func makeOptions() -> Options {
        var options = Options()
        options.createIfMissing = true
        options.directReads = directReads
        options.directTableWrites = directReads
        options.blockCacheSizeBytes = cacheMB << 20
        options.memtableSizeBytes = memtableMB << 20
        options.totalMemtableSizeBytes = memtableBudgetMB << 20
        options.compactionWriteBytesPerSecond = compactionRateMB << 20
        options.forcePosixIO = posixIO
        if let readPollMicros { options.readPollMicros = readPollMicros }
        return options
    }

    /// `--sync none|always`.
    public var writeOptions: WriteOptions { WriteOptions(sync: sync) }
}

/// A benchmark run that could not finish.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
