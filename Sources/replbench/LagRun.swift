import Glibc
import KVBenchCore
import RingKV
import Synchronization

/// `replbench DIR --lag`: replication lag under YCSB A (issue 25: p99 <=
/// 10 ms at half of the primary's peak throughput).
///
/// Data flow: load `records` records into the primary; the replica catches
/// up. Phase 1 (unless `--rate`): YCSB A (50 % reads, 50 % updates,
/// zipfian) from `threads` threads as fast as they go for `seconds`: the
/// peak rate; the replica catches up again. Phase 2: YCSB A at half the
/// peak (or `--rate`), paced open-loop per thread, while a FeedBuffer feeds
/// the replica, which applies everything that arrived in one `apply`
/// (started, and live, before phase 2 begins: a new feed first reads the
/// WAL up to its `since`). Phase 2's threads are joined off the
/// cooperative pool and the applier uses the async `apply` (a thread of
/// its own), so neither holds a cooperative thread the feed needs.
/// Every update of phase 2 carries its write id in its value; the writer
/// stores the id's acknowledgement time (after `put` returned), the
/// applier the time the `apply` holding it returned. Lag = applied - acked,
/// per write (0 when the replica applied it before the writer resumed).
struct LagRun {
    let config: Config
    let dir: String

    /// Marks a value written in phase 2: this, then the write id.
    static let marker: UInt64 = 0x5245_504c_4c41_4721

    func run() async throws {
        let (primary, replica) = try openBoth(dir)
        let records = Int64(config.records)
        try load(primary, config)
        try await catchUp(primary, replica)

        var peak = 0.0
        var rate = Double(config.rate)
        if config.rate == 0 {
            let clocks = Clocks(capacity: 0)
            peak = try ycsbA(primary, records: records, opsPerSecond: 0, clocks: clocks)
            rate = peak / 2
            try await catchUp(primary, replica)
        }

        let capacity = Int(rate * Double(config.seconds) * 1.5) + 1024
        let clocks = Clocks(capacity: capacity)
        let buffer = FeedBuffer()
        let pump = buffer.pump(primary, since: replica.latestSequence)
        let stop = Atomic<Bool>(false)
        let applier = Task.detached { [clocks] in
            var batches = 0
            while true {
                let commits: [CommittedBatch]
                do { commits = try await buffer.takeAll() } catch is CancellationError { return batches }
                // The async apply runs on a thread of its own: a sync one
                // here would hold a cooperative thread the feed needs
                // (2 cores: 2 threads) for as long as an apply blocks.
                try await replica.apply(commits)
                batches += 1
                let appliedNanos = Clocks.nowNanos()
                for commit in commits {
                    for case .put(_, _, let value) in commit.changes {
                        if let id = LagRun.writeId(value) { clocks.setApplied(id, appliedNanos) }
                    }
                }
                if stop.load(ordering: .acquiring), replica.latestSequence >= primary.latestSequence { return batches }
            }
        }
        // The feed starts by reading the WAL up to the replica's sequence
        // (the whole peak phase): wait until it is live, so the figure is
        // the steady-state lag, not the feed's start.
        try await primary.put(Array("replbench-start".utf8), [])
        while replica.latestSequence < primary.latestSequence { try await Task.sleep(for: .milliseconds(1)) }
        let pacedRate = rate
        let achieved = try await offPool { try ycsbA(primary, records: records, opsPerSecond: pacedRate, clocks: clocks) }
        stop.store(true, ordering: .releasing)
        // Wakes the applier if it waits on an idle feed.
        try await primary.put(Array("replbench-end".utf8), [])
        let applies = try await applier.value
        pump.cancel()

        var lag = LatencyHistogram()
        var missing = 0
        for id in 0..<clocks.used {
            let acked = clocks.acked[id], applied = clocks.applied[id]
            if acked == 0 { continue }
            if applied == 0 { missing += 1; continue }
            lag.record(nanos: max(applied, acked) - acked + 1)
        }
        func ms(_ nanos: UInt64) -> String { BenchReport.fixed(Double(nanos) / 1e6, 3) }
        let p50 = lag.nanos(atPercentile: 50), p99 = lag.nanos(atPercentile: 99)
        print("replication lag, YCSB A at \(Int(rate)) ops/s target (peak \(Int(peak)) ops/s, "
              + "achieved \(Int(achieved))), \(lag.count) updates, \(applies) applies: "
              + "p50 \(ms(p50)) ms, p99 \(ms(p99)) ms, max \(ms(lag.maxNanos)) ms, not applied \(missing)")
        print("{\"records\":\(records),\"threads\":\(config.threads),\"seconds\":\(config.seconds),"
              + "\"peak_ops_per_sec\":\(Int(peak)),\"target_ops_per_sec\":\(Int(rate)),"
              + "\"achieved_ops_per_sec\":\(Int(achieved)),\"updates\":\(lag.count),\"applies\":\(applies),"
              + "\"lag_p50_ms\":\(ms(p50)),\"lag_p99_ms\":\(ms(p99)),\"lag_max_ms\":\(ms(lag.maxNanos)),"
              + "\"not_applied\":\(missing)}")
        try await primary.close()
        try await replica.close()
    }

    /// Applies the feed until the replica holds everything the primary has.
    private func catchUp(_ primary: DB, _ replica: DB) async throws {
        let end = primary.latestSequence
        if replica.latestSequence >= end { return }
        var pending: [CommittedBatch] = []
        for try await batch in primary.changes(since: replica.latestSequence) {
            pending.append(batch)
            if pending.count >= config.chunk || batch.lastSequence >= end {
                try applyNow(replica, pending)
                pending.removeAll(keepingCapacity: true)
            }
            if batch.lastSequence >= end { return }
        }
    }

    /// Runs `body` (which joins the YCSB threads) on a thread of its own,
    /// so this task's cooperative thread stays free for the feed and the
    /// applier while it waits: a pthread_join here took one of the pool's
    /// 2 threads for the whole phase, and the feed then waited behind every
    /// apply (issue 25: feed deliveries 5-80 ms late).
    private func offPool(_ body: @escaping @Sendable () throws -> Double) async throws -> Double {
        var thread: Thread?
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Double, any Error>) in
            thread = Thread { continuation.resume(with: Result { try body() }) }
        }
        thread?.join()
        return result
    }

    /// YCSB A for `config.seconds` from `config.threads` threads, paced to
    /// `opsPerSecond` in total (0: unpaced). Returns the operations per second.
    private func ycsbA(_ db: DB, records: Int64, opsPerSecond: Double, clocks: Clocks) throws -> Double {
        let threads = config.threads, valueSize = max(16, config.valueSize)
        let deadline = Clocks.nowNanos() + UInt64(config.seconds) * 1_000_000_000
        let done = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let started = Clocks.nowNanos()
        let workers = (0..<threads).map { t in
            Thread {
                var rng = BenchRandom(seed: 25, thread: t)
                var keys = ScrambledZipfianGenerator(min: 0, max: records - 1)
                var value = [UInt8](repeating: UInt8(t), count: valueSize)
                let intervalNanos = opsPerSecond > 0 ? 1e9 * Double(threads) / opsPerSecond : 0
                var ops = 0
                while true {
                    let due = started + UInt64(intervalNanos * Double(ops))
                    var now = Clocks.nowNanos()
                    if now >= deadline { break }
                    if due > now {
                        var pause = timespec(tv_sec: 0, tv_nsec: Int(due - now))
                        nanosleep(&pause, nil)
                        now = Clocks.nowNanos()
                    }
                    let key = YCSBKeys.key(keys.next(&rng))
                    do {
                        if rng.below(2) == 0 {
                            _ = try db.get(key)
                        } else if let id = clocks.nextId() {
                            LagRun.stamp(id, into: &value)
                            try db.put(key, value)
                            clocks.setAcked(id, Clocks.nowNanos())
                        } else {
                            try db.put(key, value)
                        }
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                        break
                    }
                    ops += 1
                }
                done.add(ops, ordering: .relaxed)
            }
        }
        workers.forEach { $0.join() }
        if let message = failure.withLock({ $0 }) { throw DBError.misuse("YCSB A failed: \(message)") }
        return Double(done.load(ordering: .relaxed)) / (Double(Clocks.nowNanos() - started) / 1e9)
    }

    static func stamp(_ id: Int, into value: inout [UInt8]) {
        withUnsafeBytes(of: marker.littleEndian) { value.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: UInt64(id).littleEndian) { value.replaceSubrange(8..<16, with: $0) }
    }

    static func writeId(_ value: [UInt8]) -> Int? {
        guard value.count >= 16 else { return nil }
        var head: UInt64 = 0, id: UInt64 = 0
        for i in 0..<8 { head |= UInt64(value[i]) << (8 * UInt64(i)) }
        guard head == marker else { return nil }
        for i in 0..<8 { id |= UInt64(value[8 + i]) << (8 * UInt64(i)) }
        return Int(id)
    }
}

/// Per write id, the monotonic nanoseconds of its acknowledgement and of
/// its application on the replica (0: not yet).
final class Clocks: @unchecked Sendable {
    // @unchecked Sendable: each `acked` slot is written by the one writer
    // thread that took its id, each `applied` slot by the applier task; both
    // are read only after those threads were joined and the task awaited
    // (which orders the writes before the reads). `next` is atomic.
    let acked: UnsafeMutableBufferPointer<UInt64>
    let applied: UnsafeMutableBufferPointer<UInt64>
    private let next = Atomic<Int>(0)

    init(capacity: Int) {
        acked = .allocate(capacity: capacity)
        acked.initialize(repeating: 0)
        applied = .allocate(capacity: capacity)
        applied.initialize(repeating: 0)
    }

    deinit {
        acked.deallocate()
        applied.deallocate()
    }

    /// The next write id, or nil once the capacity is used up.
    func nextId() -> Int? {
        let id = next.add(1, ordering: .relaxed).oldValue
        return id < acked.count ? id : nil
    }

    var used: Int { min(next.load(ordering: .relaxed), acked.count) }
    func setAcked(_ id: Int, _ nanos: UInt64) { acked[id] = nanos }
    func setApplied(_ id: Int, _ nanos: UInt64) { if id < applied.count { applied[id] = nanos } }

    static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
