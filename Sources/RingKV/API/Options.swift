import CoreMetrics
import Logging
import RingIO

/// Database options. Defaults match what LevelDB/RocksDB users expect
/// (and the RocksDB side of `tools/sbs`); each field says when you would
/// change it.
public struct Options: Sendable {
    /// Combines merge operands (`DB.merge`) on read, flush and compaction
    /// (`CounterMerge` is built in). Default nil: `merge` throws
    /// `DBError.invalidArgument`, and a read that meets a stored operand
    /// throws `DBError.mergeOperatorMissing`. A writing open stores the
    /// operator's `name` in the MANIFEST; an open with another name is
    /// refused (`DBError.invalidOption`; docs/MERGE_TTL.md).
    public var mergeOperator: (any MergeOperator)?
    /// Asked in compaction about each key's newest value when it is newer
    /// than every live snapshot: keep, remove or replace it
    /// (`CompactionFilter`; docs/MERGE_TTL.md). Default nil.
    public var compactionFilter: (any CompactionFilter)?
    /// Create the directory and an empty database when none exists. Default false.
    public var createIfMissing = false
    /// Fail `DB.init` when a database already exists. Default false.
    public var errorIfExists = false
    /// Fail open on any corruption in the middle of a log or manifest
    /// (a torn tail is always repaired). With false, open keeps the valid
    /// prefix and drops the rest. Default true.
    public var paranoidChecks = true
    /// Bytes buffered in the active memtable before it is switched and
    /// flushed to an L0 table. Default 64 MiB. Smaller: less memory, more
    /// tables; larger: fewer, bigger flushes. At most two memtables exist
    /// (the active one and one being flushed; a writer that fills the
    /// active one while the other is still flushing waits — a counted
    /// stall), so memtable memory stays near twice this. Must be >= 1.
    public var memtableSizeBytes = 64 << 20
    /// Memory the active memtables of all keyspaces (`DB.keyspace`) may
    /// hold together: past it, the largest one is switched and flushed
    /// even though it is not full; the memtables waiting to be flushed are
    /// held to the same amount (a switch that would exceed it waits for a
    /// flush), so memtables take about twice this at most, however many
    /// keyspaces there are. 0 (default): 4 × `memtableSizeBytes` (256 MiB
    /// with the defaults), which a database with one keyspace never
    /// reaches. Must be >= 0.
    public var totalMemtableSizeBytes = 0
    /// Bytes the live WAL files may hold together: past it, the keyspaces
    /// whose unflushed writes hold the oldest live log are switched and
    /// flushed, so a keyspace written now and then does not keep every
    /// log since its first unflushed write. 0 (default): 4 × the memtable
    /// budget (`totalMemtableSizeBytes`; 1 GiB with the defaults), as
    /// RocksDB's max_total_wal_size defaults to a multiple of its memtable
    /// total. Must be >= 0.
    public var maxTotalWALSizeBytes = 0
    /// Uncompressed size of a data block. Default 4 KiB. Larger blocks
    /// compress better and favour scans; smaller ones favour point reads.
    /// 1 byte to 64 MiB (`Options.maxBlockSizeBytes`).
    public var blockSizeBytes = 4096
    /// Compress data blocks with LZ4 (kept only when it saves >= 12.5 %).
    /// Default true.
    public var compression = true
    /// Bloom filter bits per key (~1 % false positives at 10). 0 disables.
    public var bloomBitsPerKey = 10
    /// Bytes of decompressed blocks kept in the block cache. Default 64 MiB.
    public var blockCacheSizeBytes = 64 << 20
    /// Read table blocks with O_DIRECT (bypass the page cache; the block
    /// cache is then the only cache). Default false.
    public var directReads = false
    /// Write flush and compaction outputs with O_DIRECT (when the
    /// filesystem allows), as RocksDB's `use_direct_io_for_flush_and_compaction`.
    /// Default false: outputs go through the page cache, so a table that a
    /// flush or compaction just wrote is read from memory, not from the
    /// device (measured: YCSB A at 1M × 1000 B, 58k → 112k ops/s, read p99
    /// 433 → 45 µs; docs/ARCHITECTURE.md §Flush). Set it together with
    /// `directReads` when the page cache must hold nothing of the database.
    /// Either way every output is fsynced before it is installed.
    public var directTableWrites = false
    /// L0 file count that triggers an L0 -> L1 compaction. Default 4.
    public var l0CompactionTrigger = 4
    /// L0 file count that triggers an L0 -> L1 compaction while the
    /// database is loading: flushes keep coming (the last one less than
    /// 5 s ago) and reads leave the tables alone (at most one table lookup
    /// of a get, or one iterator, per 16 writes). Each rewrite of L1 then
    /// takes more L0 tables along, so a load writes less, and no read pays
    /// for the deeper L0; once writes pause or reads start, L0 goes back
    /// down to `l0CompactionTrigger`. Kept below `l0SlowdownTrigger`; at or
    /// below `l0CompactionTrigger` it changes nothing. Default 8.
    public var l0CompactionTriggerWhileLoading = 8
    /// L0 file count at which writes are slowed: paced to 16 MiB/s, a
    /// quarter less for each further L0 table (a leader sleeps off the
    /// delay once it reaches 1 ms). Default 20.
    public var l0SlowdownTrigger = 20
    /// L0 file count at which writes wait for compaction. Default 36.
    public var l0StopTrigger = 36
    /// Target size of L1; each deeper level is `levelSizeMultiplier` times
    /// larger. Default 256 MiB.
    public var l1TargetSizeBytes: UInt64 = 256 << 20
    /// Default 10.
    public var levelSizeMultiplier: UInt64 = 10
    /// Compaction output files are cut at this size. Default 64 MiB; at
    /// most 256 GiB (`Options.maxTargetFileSizeBytes`).
    public var targetFileSizeBytes: UInt64 = 64 << 20
    /// Compaction writes per second, summed over the compaction threads
    /// (RocksDB's rate limiter, for compactions only): a compaction sleeps
    /// as long as its output bytes run ahead of this rate (by more than
    /// 50 ms' worth), so reads that go to the device meet less background
    /// I/O there; compaction debt then grows sooner into write slowdowns.
    /// Flushes are never paced. 0 (the default): no limit.
    public var compactionWriteBytesPerSecond = 0
    /// Background threads for flush and compaction (flush has priority).
    /// Default 2.
    public var backgroundJobs = 2
    /// Open table readers kept in the table cache (one descriptor each;
    /// the least recently used is closed first, and an iterator keeps the
    /// tables it reads open until it goes away). Must be at least
    /// `Options.minOpenFiles` (16). Default 1000.
    public var maxOpenFiles = 1000
    /// Registered WAL buffers: at least 1, and 1 is raised to 2 (one
    /// fills while one is in flight). Default 4.
    public var walBufferCount = 4
    /// Size of each registered WAL buffer; one group commit writes at most
    /// this much (a larger batch gets a buffer of its own). At least 4096.
    /// Default 1 MiB.
    public var walBufferSizeBytes = 1 << 20
    /// The WAL file is grown with fallocate in steps of this size, so that
    /// fdatasync does not have to journal a size change on every commit.
    /// 0 (default): 1.1 × `memtableSizeBytes` (at least 64 KiB), as RocksDB
    /// sizes its WAL preallocation — about one memtable's worth of log, so
    /// a small memtable does not reserve a large file (two logs exist while
    /// a memtable is flushed). A fallocate that fails (a full disk) fails
    /// the write before any of its bytes are written.
    public var walPreallocateBytes: UInt64 = 0
    /// Longest a group-commit leader waits for writers that are about to
    /// queue (those the previous group just released) before submitting.
    /// Only waits when recent groups had more concurrent writers than are
    /// queued; a lone writer never waits. Default 200 µs; 0 disables; at
    /// most 1,000,000 (one second).
    public var groupCommitMaxDelayMicros = 200
    /// How long a writer waiting for its group's commit keeps its thread
    /// running (yielding the CPU in a loop, re-checking) before it sleeps on
    /// a condition variable: a group's fdatasync usually completes within
    /// it, and a writer that never slept needs no wake-up. Costs CPU while
    /// writers wait (RocksDB's write thread yields adaptively for the same
    /// reason); adaptive — when spins keep timing out (a disk slower than
    /// the spin) writers sleep at once. Default 300 µs; 0 sleeps at once.
    public var groupCommitSpinMicros = 300
    /// How long a read the caller waits for (a get, a multiGet, an
    /// iterator's block) that has to go to the device looks for its
    /// completion, yielding the CPU between looks, before it sleeps: a
    /// device read is often done within it, and a thread that never slept
    /// needs no wake-up (on a VM ~25 µs per read; docs/ARCHITECTURE.md
    /// §Waiting for a read). Costs CPU while reads wait; the engine's
    /// flush and compaction threads never poll. io_uring only. Default
    /// 200 µs; 0 sleeps at once.
    public var readPollMicros = 200
    /// Use the POSIX backend even where io_uring works (for comparisons
    /// and for kernels where io_uring is disabled). Default false.
    public var forcePosixIO = false
    /// Open without writing a byte — for reading a database on a full disk
    /// or a read-only filesystem, or beside other readers. Recovery replays
    /// the WAL into memory only: no MANIFEST rewrite, no new WAL, no L0
    /// table, nothing moved to `lost/` (what recovery would drop is only
    /// counted in `stats()`). The LOCK is taken shared: any number of
    /// read-only opens at once, in any processes, but none while a writer
    /// has the database open, and no writer while one is open (both get
    /// `DBError.locked`). A directory without a LOCK file (a checkpoint, a
    /// copy) gets an empty one, the only write; where it cannot be created
    /// (read-only filesystem, no write permission, full disk) the open goes
    /// on without a lock and logs a warning. `put`, `delete`, `write`,
    /// `flush` and `compactRange` throw `DBError.readOnly`. The database must exist
    /// (`createIfMissing` does not apply). Memory: the whole unflushed
    /// WAL, as one memtable. Default false.
    public var readOnly = false

    // MARK: - Change feed and replicas (docs/REPLICATION.md)

    /// WAL bytes kept for change feeds (`DB.changes(since:)`) beyond the
    /// logs recovery needs: obsolete logs are kept, newest first, while
    /// their total file size stays within this; older ones are deleted. A
    /// `since` before what is kept throws `DBError.changesUnavailable`.
    /// Default 0: nothing beyond the live logs.
    public var changeRetentionBytes = 0
    /// A replica: `put`, `delete`, `write` and `deleteRange` throw
    /// `DBError.readOnly(.replica)`; only `apply(_:)` of a primary's
    /// change feed writes, keeping the primary's sequence numbers.
    /// Keyspaces, flush and compaction work as usual. Default false.
    public var replica = false

    /// Set by `DB(followerOf:)` only: read-only, no LOCK taken, the open
    /// retried while the primary changes files under it, `catchUp()`
    /// allowed (docs/REPLICATION.md §Followers).
    var isFollower = false

    // MARK: - Logging and metrics (docs/ARCHITECTURE.md §Logging and metrics)

    /// Where the engine says what it did (swift-log): open and recovery
    /// (what was replayed; anything dropped, at warning), each flush and
    /// compaction (info), write stalls and slowdowns (warning), failed
    /// background work (error), close. Default: a logger that discards
    /// everything; pass your application's logger to see them.
    public var logger = Logger(label: "ringkv", factory: { _ in SwiftLogNoOpLogHandler() })
    /// The swift-metrics factory that receives the `ringkv_…` counters,
    /// gauges and timers. nil (default): the process-wide
    /// `MetricsSystem.factory` as bootstrapped when the database opens —
    /// bootstrap your backend before opening. With no backend and no
    /// factory here the engine does no metrics work at all.
    public var metricsFactory: (any MetricsFactory)?
    /// How often counters and gauges are exported from `DB.stats()`.
    /// Default 1000 ms; 0 turns metrics off.
    public var metricsIntervalMillis = 1000
    /// The value of the `db` dimension of every metric (and nothing else).
    /// nil (default): the database path.
    public var metricsName: String?

    /// Where a test stands between the engine and its files (RingIO's
    /// `IOSeam`): nil in production. Package access, so only this
    /// package's tests and tools can set it.
    package var ioSeam: (any IOSeam)?
    /// The keyspace's `KeyspaceOptions.prefixLength` (set by `applied(to:)`):
    /// its tables get a prefix filter of this many bytes. nil: none.
    var prefixFilterLength: Int?
    /// The keyspace's `KeyspaceOptions.ttl` in nanoseconds (set by
    /// `applied(to:)`; TTL/): its values carry write times. nil: none.
    var ttlNanos: UInt64?
    /// Test hook (internal, for `@testable` tests): the wall clock TTL
    /// stamps and expiry read, nanoseconds since the Unix epoch. nil: the
    /// system's CLOCK_REALTIME (TTL/TTLClock.swift).
    var ttlClock: (@Sendable () -> UInt64)?

    /// The defaults listed with each property (RocksDB's where both have one).
    public init() {}

    // MARK: - Limits (docs/ARCHITECTURE.md §Failures and limits). Writes over a limit
    // fail with `DBError.tooLarge` naming it; nothing is written.

    /// Largest accepted user key (64 KiB).
    public static let maxKeySizeBytes = 64 << 10
    /// Largest accepted value (64 MiB).
    public static let maxValueSizeBytes = 64 << 20
    /// Largest accepted `WriteBatch`, by its encoded size
    /// (`approximateSizeBytes`: keys, values and 2-11 bytes per operation,
    /// plus 12): 256 MiB. A batch is one WAL record whose length field is
    /// 32 bits (docs/FORMAT.md §Log records), so the format allows up to
    /// 4 GiB; the engine holds a batch in memory up to three times while
    /// committing it (the batch, the WAL write buffer, the memtable), so
    /// the limit is set far lower. Split larger imports into several batches.
    public static let maxBatchSizeBytes = 256 << 20
}

/// Per-write options.
public struct WriteOptions: Sendable {
    /// true: acknowledge only after the group's fdatasync completed (the
    /// write survives a power loss). false: acknowledge once the write
    /// reached the kernel (survives a process crash, not a power loss).
    /// A synced write makes every earlier write durable too; so does an
    /// empty one (a batch without operations, a transaction with nothing
    /// to write), as in LevelDB.
    public var sync: Bool

    /// Options for one write; `sync` defaults to false, as in RocksDB.
    public init(sync: Bool = false) { self.sync = sync }
}

/// Per-read options.
public struct ReadOptions: Sendable {
    /// Read as of this snapshot; nil reads the latest state.
    public var snapshot: Snapshot?
    /// Put blocks this read loads into the block cache. Default true.
    public var fillCache: Bool
    /// Iterators: once an O_DIRECT table (`Options.directReads`) is read
    /// sequentially, submit the read of its next read-ahead window
    /// asynchronously (io_uring) while the current window is consumed.
    /// Buffered tables always read their windows with pread (io_uring
    /// would hand uncached buffered reads to a worker thread: measured
    /// slower for short scans). Default true. false reads each window only when
    /// the cursor reaches it (synchronous read-ahead; for comparisons).
    /// Without io_uring (the POSIX backend) the "prefetch" is read at once.
    public var asyncPrefetch: Bool
    /// Iterators and scans: the smallest user key they may yield
    /// (inclusive); nil: no lower bound. `seekToFirst` starts here, a `seek`
    /// below it clamps to it, and moving backward stops before reading a
    /// block or table wholly below it.
    public var lowerBound: [UInt8]?
    /// Iterators and scans: the end of the keys they may yield
    /// (exclusive, like RocksDB's `iterate_upper_bound`); nil: no upper
    /// bound. `seekToLast` starts at the last key below it, a
    /// `seek(forPrev:)` at or above it clamps below it, and moving forward
    /// stops before reading a data block or table wholly at or past it.
    public var upperBound: [UInt8]?

    /// Options for one read or iterator (bounds: see `lowerBound` and
    /// `upperBound`).
    public init(snapshot: Snapshot? = nil, fillCache: Bool = true, asyncPrefetch: Bool = true,
                lowerBound: [UInt8]? = nil, upperBound: [UInt8]? = nil) {
        self.snapshot = snapshot
        self.fillCache = fillCache
        self.asyncPrefetch = asyncPrefetch
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }
}

extension Options {
    /// `totalMemtableSizeBytes`, or 4 × `memtableSizeBytes` when it is 0.
    var effectiveTotalMemtableSizeBytes: Int {
        if totalMemtableSizeBytes > 0 { return totalMemtableSizeBytes }
        let (product, overflow) = memtableSizeBytes.multipliedReportingOverflow(by: 4)
        return overflow ? Int.max : product
    }

    /// `maxTotalWALSizeBytes`, or 4 × the memtable budget when it is 0.
    var effectiveMaxTotalWALSizeBytes: UInt64 {
        if maxTotalWALSizeBytes > 0 { return UInt64(maxTotalWALSizeBytes) }
        let (product, overflow) = UInt64(effectiveTotalMemtableSizeBytes).multipliedReportingOverflow(by: 4)
        return overflow ? UInt64.max : product
    }

    /// The WAL's preallocation step: `walPreallocateBytes`, or when that is
    /// 0, 1.1 × `memtableSizeBytes` rounded up to 4 KiB, at least 64 KiB.
    var walPreallocationStepBytes: UInt64 {
        if walPreallocateBytes > 0 { return walPreallocateBytes }
        let step = UInt64(memtableSizeBytes) + UInt64(memtableSizeBytes) / 10
        return max(64 << 10, (step + 4095) & ~4095)
    }

    /// A fresh memtable whose arena grows in steps suited to the memtable
    /// size (small memtables would otherwise fill in one arena block).
    func makeMemTable() -> MemTable {
        MemTable(arenaBlockSizeBytes: MemTable.arenaBlockSizeBytes(forWriteBufferSizeBytes: memtableSizeBytes),
                 filterBytes: MemTableFilter.byteCount(forMemtableBytes: memtableSizeBytes),
                 hugePageNodes: MemTable.usesHugePageNodes(forWriteBufferSizeBytes: memtableSizeBytes))
    }
}
