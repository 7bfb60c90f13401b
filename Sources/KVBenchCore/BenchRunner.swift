import Glibc
import RingKV
import Synchronization

/// Operations per second over one sampling interval.
public struct ThroughputSample: Sendable {
    /// Seconds since the run started, at the end of the interval.
    public var elapsedSeconds: Double
    public var opsPerSecond: Double

    public init(elapsedSeconds: Double, opsPerSecond: Double) {
        self.elapsedSeconds = elapsedSeconds
        self.opsPerSecond = opsPerSecond
    }
}

/// What a run measured, every thread merged.
public struct RunResult: Sendable {
    public var config: BenchConfig
    public var latencies: OperationLatencies
    /// Client operations done (an rmw counts once).
    public var operations: UInt64
    /// Point reads, including the read half of every rmw, and how many of
    /// them found their key.
    public var reads: UInt64
    public var found: UInt64
    public var seconds: Double
    /// One sample per second of the run (the last one may be shorter).
    public var throughput: [ThroughputSample]
    /// Wall clock at the start, seconds since 1970 (for the report).
    public var startedAtUnixSeconds: Int
    /// Key and value bytes of every insert and update.
    public var userBytesWritten: UInt64 = 0
    /// Device and table I/O of the run (kvbench fills it in after close).
    public var engineIO: EngineIO?

    public var opsPerSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }
}

/// What one client thread measured.
struct ThreadResult: Sendable {
    var latencies = OperationLatencies()
    var operations: UInt64 = 0
    var reads: UInt64 = 0
    var found: UInt64 = 0
    var userBytesWritten: UInt64 = 0
}

@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Runs one workload on `config.threads` OS threads against an open
/// database. Each thread owns its generators (seeded from `--seed` + thread
/// index), its share of the operations and its histograms; the threads
/// share only the insert counter and the progress count.
public final class BenchRunner: Sendable {
    let db: DB
    let config: BenchConfig
    let mix: WorkloadMix
    /// Operations finished (progress and throughput samples), published by
    /// each thread every `progressStep` operations.
    let completed = Atomic<UInt64>(0)
    /// New record numbers: from 0 for load, from `records` for a–f.
    let counter: InsertCounter
    let stopped = Atomic<Bool>(false)
    /// The first failure, and each thread's result slot.
    let failure = Mutex<String?>(nil)
    let results: Mutex<[ThreadResult?]>

    public init(db: DB, config: BenchConfig) {
        precondition(config.threads >= 1 && config.records >= 1, "BenchRunner: threads and records must be >= 1")
        self.db = db
        self.config = config
        mix = config.workload.mix
        counter = InsertCounter(start: config.workload == .load ? 0 : config.records)
        results = Mutex(Array(repeating: nil, count: config.threads))
    }

    /// Runs to completion. `progress` gets one line per second (stderr in
    /// kvbench); it is called on the calling thread.
    public func run(progress: ((String) -> Void)? = nil) throws -> RunResult {
        let targets = try BenchTargets(db: db, count: config.keyspaces)
        let startedAt = time(nil)
        let total = config.totalOperations
        let start = monotonicNanos()
        var handles: [pthread_t] = []
        for index in 0..<config.threads {
            let context = Unmanaged.passRetained(ThreadContext(runner: self, index: index, targets: targets)).toOpaque()
            var handle = pthread_t()
            let rc = pthread_create(&handle, nil, { raw in
                guard let raw else { return nil }
                let context = Unmanaged<ThreadContext>.fromOpaque(raw).takeRetainedValue()
                context.runner.clientThread(context.index, context.targets)
                return nil
            }, context)
            if rc != 0 {
                Unmanaged<ThreadContext>.fromOpaque(context).release()
                stopped.store(true, ordering: .relaxed)
                for h in handles { pthread_join(h, nil) }
                throw BenchError("pthread_create failed: errno \(rc)")
            }
            handles.append(handle)
        }

        var samples: [ThroughputSample] = []
        var lastNanos = start
        var lastDone: UInt64 = 0
        while completed.load(ordering: .relaxed) < UInt64(total) && !stopped.load(ordering: .relaxed) {
            usleep(10_000)
            let now = monotonicNanos()
            guard now - lastNanos >= 1_000_000_000 else { continue }
            let done = completed.load(ordering: .relaxed)
            let rate = Double(done - lastDone) / (Double(now - lastNanos) / 1e9)
            samples.append(ThroughputSample(elapsedSeconds: Double(now - start) / 1e9, opsPerSecond: rate))
            let percent = Int(Double(done) * 100 / Double(max(total, 1)))
            progress?("kvbench \(config.workload.rawValue): \(done)/\(total) ops (\(percent) %), "
                      + "\(Int(rate)) ops/s last second")
            lastNanos = now
            lastDone = done
        }
        for h in handles { pthread_join(h, nil) }
        let end = monotonicNanos()
        if let message = failure.withLock({ $0 }) { throw BenchError(message) }

        // The tail since the last full-second sample, when it is long enough
        // to say something.
        let done = completed.load(ordering: .relaxed)
        if end - lastNanos >= 100_000_000 || samples.isEmpty {
            let interval = max(Double(end - lastNanos) / 1e9, 1e-9)
            samples.append(ThroughputSample(elapsedSeconds: Double(end - start) / 1e9,
                                            opsPerSecond: Double(done - lastDone) / interval))
        }

        var merged = ThreadResult()
        for slot in results.withLock({ $0 }) {
            guard let r = slot else { continue }
            merged.latencies.merge(r.latencies)
            merged.operations += r.operations
            merged.reads += r.reads
            merged.found += r.found
            merged.userBytesWritten += r.userBytesWritten
        }
        var result = RunResult(config: config, latencies: merged.latencies, operations: merged.operations,
                               reads: merged.reads, found: merged.found, seconds: Double(end - start) / 1e9,
                               throughput: samples, startedAtUnixSeconds: startedAt)
        result.userBytesWritten = merged.userBytesWritten
        return result
    }

    private final class ThreadContext {
        let runner: BenchRunner
        let index: Int
        let targets: BenchTargets
        init(runner: BenchRunner, index: Int, targets: BenchTargets) {
            self.runner = runner
            self.index = index
            self.targets = targets
        }
    }

    // MARK: - Client thread

    /// Operations thread `index` runs: an equal share of the total, the
    /// remainder going to the first threads (as ../shared/peers'
    /// ycsb_rocksdb.c does), so threads share no per-operation counter.
    public func share(ofThread index: Int) -> Int64 {
        let total = config.totalOperations
        let threads = Int64(config.threads)
        return total / threads + (Int64(index) < total % threads ? 1 : 0)
    }

    /// Progress is published in steps of this many operations (one shared
    /// atomic add per step, not per operation).
    static let progressStep: UInt64 = 64

    private func clientThread(_ index: Int, _ db: BenchTargets) {
        var rng = BenchRandom(seed: config.seed, thread: index)
        var chooser = KeyChooser(distribution: config.distribution, records: config.records,
                                 operations: config.operations, insertProportion: mix.insert, counter: counter)
        var result = ThreadResult()
        var value = [UInt8](repeating: 0, count: config.valueSizeBytes)
        // Keys are built into this buffer, reused by every operation: the
        // benchmark itself allocates nothing per operation.
        var key: [UInt8] = []
        key.reserveCapacity(32)
        // `--batch`: the keys of one multiGet, each buffer reused likewise.
        var batchKeys: [[UInt8]] = (0..<(config.batch > 1 ? config.batch : 0)).map { _ in
            var k: [UInt8] = []
            k.reserveCapacity(32)
            return k
        }
        var batchRecords = [Int64](repeating: 0, count: batchKeys.count)
        let writeOptions = config.writeOptions
        // Only workloads that read while inserting need the acknowledgement
        // (it keeps key choosers below unfinished inserts).
        let acknowledges = config.workload != .load
        let share = self.share(ofThread: index)
        var unpublished: UInt64 = 0
        var done: Int64 = 0
        while done < share && !stopped.load(ordering: .relaxed) {
            done += 1
            var op = config.workload == .load ? .insert : mix.pick(rng.nextDouble())
            // As ycsb_rocksdb.c: one multiGet of `batch` keys stands for
            // `batch` reads (so a thread may end up to batch - 1 past its share).
            var count: UInt64 = 1
            if op == .read && !batchKeys.isEmpty {
                op = .multiGet
                count = UInt64(batchKeys.count)
                done += Int64(batchKeys.count - 1)
            }
            let started = monotonicNanos()
            do {
                switch op {
                case .multiGet:
                    for b in batchKeys.indices {
                        batchRecords[b] = chooser.next(&rng)
                        YCSBKeys.setKey(batchRecords[b], in: &batchKeys[b])
                    }
                    result.found += try db.multiGetFound(batchRecords, batchKeys)
                    result.reads += count
                case .insert:
                    let record = counter.next()
                    BenchRunner.fillValue(&value, &rng)
                    YCSBKeys.setKey(record, in: &key)
                    try db.put(record, key, value, options: writeOptions)
                    result.userBytesWritten += UInt64(key.count + value.count)
                    if acknowledges { counter.acknowledge(record) }
                case .read:
                    result.reads += 1
                    let record = chooser.next(&rng)
                    YCSBKeys.setKey(record, in: &key)
                    if try db.get(record, key) != nil { result.found += 1 }
                case .update:
                    let record = chooser.next(&rng)
                    YCSBKeys.setKey(record, in: &key)
                    BenchRunner.fillValue(&value, &rng)
                    try db.put(record, key, value, options: writeOptions)
                    result.userBytesWritten += UInt64(key.count + value.count)
                case .scan:
                    let record = chooser.next(&rng)
                    YCSBKeys.setKey(record, in: &key)
                    let length = 1 + Int(rng.below(UInt64(mix.maxScanLength)))
                    try BenchRunner.scan(db, record, from: key, length: length, reverse: config.reverseScans,
                                         asyncPrefetch: !config.syncReadAhead)
                case .readModifyWrite:
                    // As YCSB: the read and the update are also measured as
                    // such, the whole as "rmw".
                    let record = chooser.next(&rng)
                    YCSBKeys.setKey(record, in: &key)
                    result.reads += 1
                    if try db.get(record, key) != nil { result.found += 1 }
                    let readDone = monotonicNanos()
                    result.latencies.record(.read, nanos: readDone - started)
                    BenchRunner.fillValue(&value, &rng)
                    try db.put(record, key, value, options: writeOptions)
                    result.userBytesWritten += UInt64(key.count + value.count)
                    result.latencies.record(.update, nanos: monotonicNanos() - readDone)
                }
            } catch {
                failure.withLock { first in
                    if first == nil { first = "\(op.name) failed: \(error)" }
                }
                stopped.store(true, ordering: .relaxed)
                break
            }
            result.latencies.record(op, nanos: monotonicNanos() - started)
            result.operations += count
            unpublished += count
            if unpublished >= BenchRunner.progressStep {
                completed.add(unpublished, ordering: .relaxed)
                unpublished = 0
            }
        }
        completed.add(unpublished, ordering: .relaxed)
        results.withLock { $0[index] = result }
    }

    /// A YCSB scan: seek, then step over `length` entries, touching each key
    /// and value (as ycsb_rocksdb.c's scan does; no rows are collected),
    /// through the zero-copy accessors: a step allocates nothing.
    /// Up to `length` rows from `key` on (`reverse`: from the last key <=
    /// `key` downwards), touching each key and value in place.
    static func scan(_ db: BenchTargets, _ record: Int64, from key: [UInt8], length: Int, reverse: Bool = false,
                     asyncPrefetch: Bool = true) throws {
        var options = ReadOptions()
        options.asyncPrefetch = asyncPrefetch
        let it = try db.makeIterator(record, options: options)
        if reverse { try it.seek(forPrev: key) } else { try it.seek(to: key) }
        var remaining = length
        while remaining > 0 && it.isValid {
            _ = it.withKey { $0.count } &+ it.withValue { $0.count }
            if reverse { try it.prev() } else { try it.next() }
            remaining -= 1
        }
    }

    /// New value bytes for every write, printable like YCSB's
    /// RandomByteIterator (' ' + 6 random bits per byte). Refilled in place:
    /// the engine copies the value, so the buffer stays uniquely owned.
    static func fillValue(_ value: inout [UInt8], _ rng: inout BenchRandom) {
        value.withUnsafeMutableBytes { raw in
            // raw is the array's own storage, raw.count bytes; 8-byte stores
            // are unaligned-safe through storeBytes.
            var offset = 0
            while offset + 8 <= raw.count {
                let word = (rng.next() & 0x3F3F_3F3F_3F3F_3F3F) &+ 0x2020_2020_2020_2020
                raw.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            while offset < raw.count {
                raw[offset] = UInt8(truncatingIfNeeded: rng.next() & 0x3F) + 0x20
                offset += 1
            }
        }
    }
}
