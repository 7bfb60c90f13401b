import Glibc
import RingKV
import Synchronization

/// What one benchmark thread measured.
struct ThreadResult {
    var histograms: [Operation: LatencyHistogram] = [:]
    var found: UInt64 = 0
    var reads: UInt64 = 0
}

struct RunConfig: Sendable {
    var workload: String
    var records: UInt64
    var operations: UInt64
    var valueSize: Int
    var threads: Int
    var distribution: String
    var sync: Bool
    var seed: UInt64
}

@inline(__always)
func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Runs `config` against `db` on `threads` OS threads; returns per-thread
/// results and the wall time. Progress goes to stderr once a second.
final class Runner: @unchecked Sendable {
    // @unchecked Sendable: `results` is written by each thread at its own
    // index and read only after every thread was joined.
    let db: DB
    let config: RunConfig
    let mix: WorkloadMix
    /// Operations done so far (progress line) and records inserted (the
    /// `latest` distribution and inserts draw new record numbers from it).
    let completed = Atomic<UInt64>(0)
    let inserted: Atomic<UInt64>
    var results: [ThreadResult]

    init(db: DB, config: RunConfig, mix: WorkloadMix) {
        self.db = db
        self.config = config
        self.mix = mix
        inserted = Atomic(config.workload == "load" ? 0 : config.records)
        results = Array(repeating: ThreadResult(), count: config.threads)
    }

    func run() -> (results: [ThreadResult], seconds: Double) {
        let start = nowNanos()
        let total = config.workload == "load" ? config.records : config.operations
        var threads: [pthread_t] = []
        for t in 0..<config.threads {
            let context = Unmanaged.passRetained(ThreadContext(runner: self, index: t, total: total)).toOpaque()
            var handle = pthread_t()
            pthread_create(&handle, nil, { raw in
                let ctx = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
                ctx.runner.results[ctx.index] = ctx.runner.work(thread: ctx.index, total: ctx.total)
                return nil
            }, context)
            threads.append(handle)
        }
        var lastReport = start
        while completed.load(ordering: .relaxed) < total {
            usleep(50_000)
            let now = nowNanos()
            if now - lastReport >= 1_000_000_000 {
                let done = completed.load(ordering: .relaxed)
                let rate = Double(done) / (Double(now - start) / 1e9)
                progress("\(config.workload): \(done)/\(total) ops, \(Int(rate)) ops/s")
                lastReport = now
            }
        }
        for h in threads { pthread_join(h, nil) }
        return (results, Double(nowNanos() - start) / 1e9)
    }

    private final class ThreadContext {
        let runner: Runner
        let index: Int
        let total: UInt64
        init(runner: Runner, index: Int, total: UInt64) {
            self.runner = runner
            self.index = index
            self.total = total
        }
    }

    private func work(thread: Int, total: UInt64) -> ThreadResult {
        var rng = FastRandom(seed: config.seed &+ UInt64(thread) &* 0x9E37_79B9)
        var result = ThreadResult()
        let chooser: KeyChooser
        switch config.distribution {
        case "uniform": chooser = .uniform(config.records)
        case "latest": chooser = .latest(Zipfian(items: max(config.records, 2)))
        default: chooser = .zipfian(ScrambledZipfian(records: max(config.records, 1)))
        }
        let writeOptions = WriteOptions(sync: config.sync)
        // Each thread takes every threads-th operation so the total is exact.
        var i = UInt64(thread)
        while i < total {
            let op: Operation = config.workload == "load" ? .insert : mix.pick(rng.unit())
            let started = nowNanos()
            do {
                switch op {
                case .insert:
                    let record = config.workload == "load" ? i : inserted.add(1, ordering: .relaxed).oldValue
                    try db.put(ycsbKey(record), value(&rng), options: writeOptions)
                case .read:
                    result.reads += 1
                    if try db.get(ycsbKey(pick(chooser, &rng))) != nil { result.found += 1 }
                case .update:
                    try db.put(ycsbKey(pick(chooser, &rng)), value(&rng), options: writeOptions)
                case .scan:
                    let length = Int(rng.below(100)) + 1
                    _ = try db.scan(from: ycsbKey(pick(chooser, &rng)), limit: length)
                case .readModifyWrite:
                    let key = ycsbKey(pick(chooser, &rng))
                    result.reads += 1
                    if try db.get(key) != nil { result.found += 1 }
                    try db.put(key, value(&rng), options: writeOptions)
                }
            } catch {
                progress("kvbench: \(op.rawValue) failed: \(error)")
                exit(1)
            }
            result.histograms[op, default: LatencyHistogram()].record(nanos: nowNanos() - started)
            completed.add(1, ordering: .relaxed)
            i += UInt64(config.threads)
        }
        return result
    }

    private func pick(_ chooser: KeyChooser, _ rng: inout FastRandom) -> UInt64 {
        chooser.next(&rng, insertedCount: inserted.load(ordering: .relaxed))
    }

    private func value(_ rng: inout FastRandom) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: config.valueSize)
        bytes.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= raw.count {
                raw.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < raw.count {
                raw[i] = UInt8(truncatingIfNeeded: rng.next())
                i += 1
            }
        }
        return bytes
    }
}

func progress(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
