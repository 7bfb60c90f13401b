// replicacrash: the child process of the replica kill -9 test
// (Tests/RingKVTests/Replication/ReplicaCrashTests.swift).
//
// usage: replicacrash PRIMARY_PATH REPLICA_PATH SEED both|follow
//
// Opens the primary (keeping its WAL for feeds) and a replica of it, with
// the keyspaces "default", "users" and "logs" on both, and follows the
// primary's change feed from the replica's latestSequence, applying every
// batch. In `both` mode a thread also writes random puts, deletes, range
// deletions and batches across the keyspaces to the primary; in `follow`
// mode it only catches the replica up. It runs until it is killed; a
// failed write or apply prints "error ..." and exits 4. "ready" is
// printed once both databases are open.
import Glibc
import RingKV
import Synchronization

let args = CommandLine.arguments
guard args.count == 5, let seed = UInt64(args[3]), args[4] == "both" || args[4] == "follow" else {
    print("usage: replicacrash PRIMARY_PATH REPLICA_PATH SEED both|follow")
    exit(2)
}
let names = ["default", "users", "logs"]

func report(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(10)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let primary: DB
let replica: DB
let handles: [Keyspace]
do {
    var options = Options()
    options.createIfMissing = true
    options.memtableSizeBytes = 128 << 10  // small: switches and flushes while we are killed
    options.walPreallocateBytes = 256 << 10
    options.changeRetentionBytes = 1 << 30
    primary = try DB(path: args[1], options: options)
    var replicaOptions = Options()
    replicaOptions.createIfMissing = true
    replicaOptions.memtableSizeBytes = 128 << 10
    replicaOptions.walPreallocateBytes = 256 << 10
    replicaOptions.replica = true
    replica = try DB(path: args[2], options: replicaOptions)
    handles = try names.map { try primary.keyspace($0) }
    for name in names { _ = try replica.keyspace(name) }
} catch {
    report("open failed: \(error)")
    exit(3)
}

/// One random operation (or batch) on the primary.
func writeOne(_ rng: inout SplitMixRandom) throws {
    func key(_ rng: inout SplitMixRandom) -> [UInt8] { Array("k\(rng.next() % 3000)".utf8) }
    let ks = handles[Int(rng.next() % 3)]
    switch rng.next() % 100 {
    case 0..<55:
        try ks.put(key(&rng), [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: Int(rng.next() % 80)))
    case 55..<70:
        try ks.delete(key(&rng))
    case 70..<73:
        var a = key(&rng), b = key(&rng)
        if b.lexicographicallyPrecedes(a) { swap(&a, &b) }
        try ks.deleteRange(from: a, to: b)
    default:
        var batch = WriteBatch()
        for _ in 0..<(1 + rng.next() % 16) {
            let target = handles[Int(rng.next() % 3)]
            if rng.next() % 2 == 0 {
                batch.put(key(&rng), Array("b\(rng.next() % 1000)".utf8), in: target)
            } else {
                batch.delete(key(&rng), in: target)
            }
        }
        try primary.write(batch)
    }
}

/// SplitMix64, so a run replays from its seed.
struct SplitMixRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The blocking apply (a synchronous context picks it over the async one).
func applyNow(_ batch: CommittedBatch) throws { try replica.apply(batch) }

let follower = Task.detached {
    do {
        for try await batch in primary.changes(since: replica.latestSequence) {
            try applyNow(batch)
        }
    } catch {
        report("error apply: \(error)")
        exit(4)
    }
}

report("ready \(primary.latestSequence) \(replica.latestSequence)")
if args[4] == "both" {
    var rng = SplitMixRandom(state: seed)
    while true {
        do { try writeOne(&rng) } catch {
            report("error write: \(error)")
            exit(4)
        }
    }
} else {
    while true { sleep(1) }
}
