import Glibc
import KVBenchCore
import RingKV
import Synchronization

/// `kvbench --async --tasks N`: cold async reads against two threads of
/// synchronous gets, beside the device's own figure.
///
/// The database (`--records` of `--value-size` bytes, YCSB keys) is loaded
/// and compacted first when it does not hold the records yet. Each round
/// then runs, one after the other:
/// 1. **async**: N tasks started at once, each one operation on a uniformly
///    random record — a 2-key `multiGet` for every 100th task, a `put` for
///    every 50th of the others, a `get` otherwise — through the async API
///    (the cooperative pool: one thread per core);
/// 2. **sync**: two OS threads of synchronous `get`s on random records;
/// 3. **iobench** (when found next to this executable): its io_uring mode,
///    random 4 KiB O_DIRECT reads with 32 in flight, on a file in the
///    database's parent directory (the same file system).
/// With `--direct-reads` and a cache far smaller than the data every read
/// goes to the device. Figures per round and the medians go to stdout
/// (`--json`: one object); CPU is getrusage user+sys of the process over
/// the async phase, per operation.
struct AsyncGetsMode {
    let dbPath: String
    let config: BenchConfig
    let tasks: Int
    let rounds: Int
    let syncGetsPerThread: Int
    let json: Bool

    static let syncThreads = 2
    /// iobench's run: reads and queue depth.
    static let iobenchReads = 20_000
    static let iobenchDepth = 32

    struct Round {
        var asyncKeysPerSecond = 0.0
        var asyncCPUMicrosPerOp = 0.0
        var syncGetsPerSecond = 0.0
        var iobenchIOPS: Double?
        var ratio: Double { syncGetsPerSecond > 0 ? asyncKeysPerSecond / syncGetsPerSecond : 0 }
    }

    func run() throws {
        let db = try DB(path: dbPath, options: config.makeOptions())
        defer { try? db.close() }
        try loadIfNeeded(db)
        let iobench = Self.iobenchCommand(nextTo: dbPath)
        if iobench == nil { printError("kvbench: no iobench next to kvbench; its io_uring figure is skipped") }
        // Warm-up, as large as a round: the ring, its threads, the
        // cooperative pool and the heap the tasks need (20,000 task
        // allocators grow malloc's arenas: mprotect and page faults that
        // only a process's first round pays) exist from here.
        _ = try asyncPhase(db, tasks: tasks, seed: config.seed ^ 0xA5A5)
        var results: [Round] = []
        for round in 0..<rounds {
            var r = Round()
            let a = try asyncPhase(db, tasks: tasks, seed: config.seed &+ UInt64(round) &* 7919)
            r.asyncKeysPerSecond = a.keysPerSecond
            r.asyncCPUMicrosPerOp = a.cpuMicrosPerOp
            r.syncGetsPerSecond = try syncPhase(db, seed: config.seed &+ UInt64(round) &* 104_729)
            if let iobench { r.iobenchIOPS = Self.runIOBench(iobench) }
            results.append(r)
            if !json {
                print("round \(round + 1): async \(Self.int(r.asyncKeysPerSecond)) keys/s "
                      + "(\(Self.fixed(r.asyncCPUMicrosPerOp)) µs CPU per op), sync \(Self.syncThreads) threads "
                      + "\(Self.int(r.syncGetsPerSecond)) gets/s, ratio \(Self.fixed(r.ratio))"
                      + (r.iobenchIOPS.map { ", iobench io_uring qd\(Self.iobenchDepth) \(Self.int($0)) IOPS" } ?? ""))
            }
        }
        report(results, iobench: iobench)
    }

    // MARK: - Phases

    /// N tasks at once; returns keys read per second and CPU per operation.
    private func asyncPhase(_ db: DB, tasks: Int, seed: UInt64) throws -> (keysPerSecond: Double, cpuMicrosPerOp: Double) {
        let records = config.records
        let valueBytes = config.valueSizeBytes
        let cpuBefore = RunCPU.processSecondsNow()
        let start = Self.nanos()
        // Unstructured tasks, not a task group: the runtime unlinks a
        // finished child from its group's list by walking it, which with
        // 20,000 children was 11% of the phase's CPU (perf), not the engine's.
        let (keys, missing) = try runBlocking { () async throws -> (Int, Int) in
            let tally = Tally(tasks: tasks)
            try await withCheckedThrowingContinuation { (finished: CheckedContinuation<Void, any Error>) in
                tally.setFinished(finished)
                for t in 0..<tasks {
                    Task {
                        do {
                            var rng = BenchRandom(seed: seed, thread: t)
                            let record = Int64(rng.below(UInt64(records)))
                            if t % 100 == 0 {
                                let other = Int64(rng.below(UInt64(records)))
                                let values = try await db.multiGet([YCSBKeys.key(record), YCSBKeys.key(other)])
                                tally.done(keys: 2, missing: values.filter { $0 == nil }.count)
                            } else if t % 50 == 0 {
                                let value = [UInt8](repeating: UInt8(truncatingIfNeeded: t), count: valueBytes)
                                try await db.put(YCSBKeys.key(record), value)
                                tally.done(keys: 0, missing: 0)
                            } else {
                                let value = try await db.get(YCSBKeys.key(record))
                                tally.done(keys: 1, missing: value == nil ? 1 : 0)
                            }
                        } catch {
                            tally.failed(error)
                        }
                    }
                }
            }
            return tally.totals
        }
        let seconds = Double(Self.nanos() - start) / 1e9
        let cpu = (RunCPU.processSecondsNow() - cpuBefore) * 1_000_000
        if missing > 0 { throw BenchError("\(missing) of \(keys) keys read asynchronously were missing") }
        return (Double(keys) / seconds, cpu / Double(tasks))
    }

    /// Two threads of synchronous gets; gets per second.
    private func syncPhase(_ db: DB, seed: UInt64) throws -> Double {
        let records = config.records
        let perThread = syncGetsPerThread
        let missing = Atomic<Int>(0)
        let start = Self.nanos()
        var threads: [pthread_t] = []
        for t in 0..<Self.syncThreads {
            let body: @Sendable () -> Void = {
                var rng = BenchRandom(seed: seed, thread: t)
                for _ in 0..<perThread {
                    let record = Int64(rng.below(UInt64(records)))
                    let value = (try? db.get(YCSBKeys.key(record))) ?? nil
                    if value == nil { missing.add(1, ordering: .relaxed) }
                }
            }
            threads.append(try Self.startThread(body))
        }
        for thread in threads { pthread_join(thread, nil) }
        let seconds = Double(Self.nanos() - start) / 1e9
        let lost = missing.load(ordering: .relaxed)
        if lost > 0 { throw BenchError("\(lost) synchronous gets found no value") }
        return Double(Self.syncThreads * perThread) / seconds
    }

    /// Loads `records` records and compacts, unless the last one is there.
    private func loadIfNeeded(_ db: DB) throws {
        if try db.get(YCSBKeys.key(config.records - 1)) != nil { return }
        var load = config
        load.workload = .load
        load.threads = max(config.threads, 1)
        printError("kvbench: loading \(config.records) records of \(config.valueSizeBytes) bytes")
        _ = try BenchRunner(db: db, config: load).run(progress: printError)
        try db.compactRange()
    }

    // MARK: - iobench

    /// iobench beside this executable, reading a file in the database's
    /// parent directory; nil when there is no iobench.
    static func iobenchCommand(nextTo dbPath: String) -> [String]? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let binary = String(exe[..<(exe.lastIndex(of: "/") ?? exe.startIndex)]) + "/iobench"
        guard access(binary, X_OK) == 0 else { return nil }
        var parent = dbPath
        while parent.count > 1 && parent.hasSuffix("/") { parent.removeLast() }
        parent = parent.contains("/") ? String(parent[..<(parent.lastIndex(of: "/") ?? parent.startIndex)]) : "."
        if parent.isEmpty { parent = "/" }
        return [binary, "--mode", "uring", "--queue-depth", String(iobenchDepth), "-n", String(iobenchReads),
                "--file", parent + "/iobench-pattern.dat", "--file-size-mb", "1024", "--json"]
    }

    /// Runs iobench once and returns its IOPS (nil when it failed).
    static func runIOBench(_ command: [String]) -> Double? {
        guard let output = Subprocess.output(command) else { return nil }
        guard let range = output.firstRange(of: "\"iops\":") else { return nil }
        let digits = output[range.upperBound...].prefix { $0.isNumber || $0 == "." }
        return Double(digits)
    }

    // MARK: - Report

    private func report(_ rounds: [Round], iobench: [String]?) {
        let asyncMedian = Self.median(rounds.map(\.asyncKeysPerSecond))
        let syncMedian = Self.median(rounds.map(\.syncGetsPerSecond))
        let cpuMedian = Self.median(rounds.map(\.asyncCPUMicrosPerOp))
        let ratioMedian = Self.median(rounds.map(\.ratio))
        let io = rounds.compactMap(\.iobenchIOPS)
        let ioMedian = io.isEmpty ? nil : Self.median(io)
        if json {
            var fields = [
                "\"engine\":\"ringkv\"", "\"mode\":\"async-cold-gets\"", "\"records\":\(config.records)",
                "\"value_size\":\(config.valueSizeBytes)", "\"tasks\":\(tasks)", "\"rounds\":\(rounds.count)",
                "\"async_keys_per_sec\":\(Self.fixed(asyncMedian))",
                "\"async_cpu_us_per_op\":\(Self.fixed(cpuMedian))",
                "\"sync_threads\":\(Self.syncThreads)", "\"sync_gets_per_sec\":\(Self.fixed(syncMedian))",
                "\"async_over_sync\":\(Self.fixed(ratioMedian))",
            ]
            if let ioMedian {
                fields.append("\"iobench_uring_qd\(Self.iobenchDepth)_iops\":\(Self.fixed(ioMedian))")
                fields.append("\"async_over_iobench\":\(Self.fixed(asyncMedian / ioMedian))")
            }
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        print("medians of \(rounds.count): async \(Self.int(asyncMedian)) keys/s (\(Self.fixed(cpuMedian)) µs CPU per op), "
              + "sync \(Self.int(syncMedian)) gets/s, async/sync \(Self.fixed(ratioMedian))"
              + (ioMedian.map { ", iobench \(Self.int($0)) IOPS, async/iobench \(Self.fixed(asyncMedian / $0))" } ?? ""))
        if let iobench { print("iobench command: " + iobench.joined(separator: " ")) }
    }

    // MARK: - Helpers

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func int(_ x: Double) -> String { String(Int(x.rounded())) }
    static func fixed(_ x: Double) -> String { String((x * 100).rounded() / 100) }

    static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    private final class ThreadBody {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    static func startThread(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            throw BenchError("pthread_create failed: \(rc)")
        }
        return thread
    }
}

/// What the tasks of an async phase did; resumes the phase when the last
/// one is done.
private final class Tally: Sendable {
    private struct State {
        var left: Int
        var keys = 0
        var missing = 0
        var error: (any Error)?
        var finished: CheckedContinuation<Void, any Error>?
    }

    private let state: Mutex<State>

    init(tasks: Int) { state = Mutex(State(left: tasks)) }

    var totals: (Int, Int) { state.withLock { ($0.keys, $0.missing) } }

    func setFinished(_ continuation: CheckedContinuation<Void, any Error>) {
        state.withLock { $0.finished = continuation }
    }

    func done(keys: Int, missing: Int) { finish { $0.keys += keys; $0.missing += missing } }

    func failed(_ error: any Error) { finish { if $0.error == nil { $0.error = error } } }

    private func finish(_ update: (inout State) -> Void) {
        let resume = state.withLock { s -> (CheckedContinuation<Void, any Error>, (any Error)?)? in
            update(&s)
            s.left -= 1
            guard s.left == 0, let c = s.finished else { return nil }
            s.finished = nil
            return (c, s.error)
        }
        guard let (continuation, error) = resume else { return }
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}

/// Runs `body` as a task and blocks this (non-cooperative) thread until it
/// returns: kvbench's command runs on the main thread.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    sem_init(done, 0, 0)
    defer {
        sem_destroy(done)
        done.deallocate()
    }
    let signal = SendablePointer(done)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
        sem_post(signal.pointer)
    }
    while sem_wait(done) != 0 && errno == EINTR {}
    guard let result = outcome.withLock({ $0 }) else { throw BenchError("the async run ended without a result") }
    return try result.get()
}

/// A semaphore's address handed to the task that posts it.
private struct SendablePointer: @unchecked Sendable {
    // @unchecked Sendable: sem_post is thread-safe, and the semaphore
    // outlives the task (runBlocking waits for the post before freeing it).
    let pointer: UnsafeMutablePointer<sem_t>
    init(_ pointer: UnsafeMutablePointer<sem_t>) { self.pointer = pointer }
}

/// Runs a command and returns its stdout (nil when it could not run or
/// exited with an error). Its stderr goes to ours.
enum Subprocess {
    static func output(_ command: [String]) -> String? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, command[0], &actions, nil, &argv, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return nil
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
