// replbench: how fast a replica applies a primary's change feed, against
// the primary's own load rate (issue 25: >= 0.8x). docs/REPLICATION.md.
//
// usage: replbench DIR [--records N] [--value-size B] [--threads T] [--chunk C] [--live [--per-commit]]
//        replbench DIR --lag [--records N] [--threads T] [--seconds S] [--rate OPS]
//        replbench DIR --backup [--records N] [--value-size B]
//
// Loads N YCSB records (keys "user" + FNV-1a-64 of the record number,
// random values, unsynced puts from T threads) into DIR/primary and times
// it. Then a replica in DIR/replica applies the primary's feed from 0:
// without --live after the load (catch-up: `apply` of C commits at a time),
// with --live while the load runs (following: the time until the replica
// reaches the primary's last sequence; the replica applies everything the
// feed delivered while it was busy in one `apply`, FeedBuffer). Prints one
// JSON line. --lag: replication lag under YCSB A (LagRun.swift).
import Glibc
import KVBenchCore
import RingKV
import Synchronization

struct Config: Sendable {
    var records = 1_000_000, valueSize = 100, threads = 1, chunk = 1000, live = false
    /// --lag: seconds of each YCSB-A phase, and the rate (0: half the peak).
    var lag = false, seconds = 10, rate = 0
    /// --live --per-commit: one `apply` per primary commit (before FeedBuffer), for A/B runs.
    var perCommit = false
    /// --backup: the incremental backup figure (BackupRun.swift).
    var backup = false
}
var config = Config()
var args = Array(CommandLine.arguments.dropFirst())
guard let dir = args.first, !dir.hasPrefix("--") else {
    print("usage: replbench DIR [--records N] [--value-size B] [--threads T] [--chunk C] [--live [--per-commit]]\n"
          + "       replbench DIR --lag [--records N] [--threads T] [--seconds S] [--rate OPS]\n"
          + "       replbench DIR --backup [--records N] [--value-size B]")
    exit(2)
}
args.removeFirst()
while let flag = args.first {
    args.removeFirst()
    if flag == "--live" { config.live = true; continue }
    if flag == "--lag" { config.lag = true; continue }
    if flag == "--per-commit" { config.perCommit = true; continue }
    if flag == "--backup" { config.backup = true; continue }
    guard let text = args.first, let value = Int(text), value > 0 else {
        print("replbench: \(flag) needs a positive number")
        exit(2)
    }
    args.removeFirst()
    switch flag {
    case "--records": config.records = value
    case "--value-size": config.valueSize = value
    case "--threads": config.threads = value
    case "--chunk": config.chunk = value
    case "--seconds": config.seconds = value
    case "--rate": config.rate = value
    default:
        print("replbench: unknown flag \(flag)")
        exit(2)
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func load(_ db: DB, _ config: Config) throws {
    let (records, valueSize, threads) = (config.records, config.valueSize, config.threads)
    let next = Atomic<Int>(0)
    let failure = Mutex<String?>(nil)
    let workers = (0..<threads).map { t in
        Thread {
            var value = [UInt8](repeating: UInt8(t), count: valueSize)
            while true {
                let n = next.add(1, ordering: .relaxed).oldValue
                if n >= records { return }
                value[n % valueSize] &+= 1
                do { try db.put(YCSBKeys.key(Int64(n)), value) } catch {
                    failure.withLock { $0 = "\(error)" }
                    return
                }
            }
        }
    }
    workers.forEach { $0.join() }
    if let message = failure.withLock({ $0 }) { throw DBError.misuse("load failed: \(message)") }
}

/// A joinable pthread running `body`.
final class Thread: @unchecked Sendable {
    // @unchecked Sendable: `handle` is written once by init before any
    // other thread can see the object, then read only by join.
    private var handle = pthread_t()
    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&handle, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
    }
    func join() { pthread_join(handle, nil) }
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

/// Applies the feed until `end` (or until `target` says, when it is 0 at first).
func follow(_ primary: DB, into replica: DB, until target: Target, _ config: Config) async throws {
    if config.live && !config.perCommit { return try await followLive(primary, into: replica, until: target) }
    let (chunk, live) = (config.chunk, config.live)
    var pending: [CommittedBatch] = []
    pending.reserveCapacity(chunk)
    for try await batch in primary.changes(since: replica.latestSequence) {
        pending.append(batch)
        let end = target.value.load(ordering: .acquiring)
        let done = end != 0 && batch.lastSequence >= end
        if pending.count >= chunk || done || live {
            try applyNow(replica, pending)
            pending.removeAll(keepingCapacity: true)
        }
        if done { return }
    }
}

func applyNow(_ replica: DB, _ commits: [CommittedBatch]) throws { try replica.apply(commits) }

/// Following: everything the feed delivered while the last `apply` ran goes
/// into the next one.
func followLive(_ primary: DB, into replica: DB, until target: Target) async throws {
    let buffer = FeedBuffer()
    let pump = buffer.pump(primary, since: replica.latestSequence)
    defer { pump.cancel() }
    while true {
        let end = target.value.load(ordering: .acquiring)
        if end != 0, replica.latestSequence >= end { return }
        let commits = try await buffer.takeAll()
        try applyNow(replica, commits)
        let target = target.value.load(ordering: .acquiring)
        if target != 0, let last = commits.last, last.lastSequence >= target { return }
    }
}

func openBoth(_ dir: String) throws -> (DB, DB) {
    try? FileManagerless.removeTree(dir)
    mkdir(dir, 0o755)
    var options = Options()
    options.createIfMissing = true
    options.changeRetentionBytes = 8 << 30
    let primary = try DB(path: dir + "/primary", options: options)
    var replicaOptions = Options()
    replicaOptions.createIfMissing = true
    replicaOptions.replica = true
    let replica = try DB(path: dir + "/replica", options: replicaOptions)
    return (primary, replica)
}

enum FileManagerless {
    static func removeTree(_ path: String) throws {
        // nftw-free: the benchmark directory holds two flat databases.
        for sub in ["primary", "replica"] {
            let d = path + "/" + sub
            guard let handle = opendir(d) else { continue }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(d + "/" + name) }
            }
            closedir(handle)
            rmdir(d)
        }
    }
}

if config.backup {
    try BackupRun(config: config, dir: dir).run()
    exit(0)
}
if config.lag {
    try await LagRun(config: config, dir: dir).run()
    exit(0)
}
let (primary, replica) = try openBoth(dir)
/// The primary's last sequence once the load is done (0 before).
final class Target: Sendable {
    let value = Atomic<UInt64>(0)
}
let target = Target()
var loadSeconds = 0.0, applySeconds = 0.0
let records = config.records
if config.live {
    let started = now()
    let follower = Task.detached { [config] in try await follow(primary, into: replica, until: target, config) }
    try load(primary, config)
    loadSeconds = now() - started
    // One more write marks the end, so a follower waiting for the feed
    // sees a batch at or past it.
    target.value.store(primary.latestSequence, ordering: .releasing)
    try primary.put(Array("replbench-end".utf8), [])
    try await follower.value
    applySeconds = now() - started
} else {
    let started = now()
    try load(primary, config)
    loadSeconds = now() - started
    target.value.store(primary.latestSequence, ordering: .releasing)
    let applyStarted = now()
    try await follow(primary, into: replica, until: target, config)
    applySeconds = now() - applyStarted
}
let ok = replica.latestSequence >= target.value.load(ordering: .acquiring)
let loadRate = Double(records) / loadSeconds, applyRate = Double(records) / applySeconds
let ratioMilli = Int(applyRate / loadRate * 1000)
print("{\"records\":\(records),\"value_size\":\(config.valueSize),\"threads\":\(config.threads),"
      + "\"live\":\(config.live),\"per_commit\":\(config.perCommit),\"chunk\":\(config.chunk),\"load_ops_per_sec\":\(Int(loadRate)),\"apply_ops_per_sec\":\(Int(applyRate)),"
      + "\"ratio\":\(ratioMilli / 1000).\(String(1000 + ratioMilli % 1000).dropFirst()),\"replica_matches_sequence\":\(ok)}")
try primary.close()
try replica.close()
