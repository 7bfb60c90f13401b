// crashwriter: the child process of the crash tests and `tools/crashloop`.
// It writes to a RingKV database from several threads and reports every
// acknowledged write on stdout ("ack <thread> <op>\n") until it is killed.
//
// usage: crashwriter DB_PATH SEED THREADS sync|nosync [keyspaces|ingest|merges|bank]
//
// With `merges` (CounterMerge as the merge operator), operation `op` of
// thread `t` is one atomic write to counter c = op % 4 of the thread
// ("t<t>-c<c>"): a merge adding op + 1, or for op % 10 == 9 a batch that
// deletes the counter and merges op + 1 into it (a base of nothing).
// After a kill each counter must equal what the acknowledged operations
// (and at most the one in flight) make it
// (Tests/RingKVTests/Merge/MergeCrashTests.swift).
//
// `bank`: transfers in optimistic transactions (BankMode.swift).
//
// With `keyspaces`, operation `op` of thread `t` is one batch across the
// keyspaces "default", "ks1" and "ks2" (each with its own memtable size,
// so they flush at different times): put key(t, op) = value(t, op) in all
// three, and for op % 4 == 3 delete key(t, op - 3) in all three. After a
// kill each batch must be in every keyspace or in none
// (Tests/RingKVTests/Keyspace/KeyspaceCrashTests.swift).
//
// With `ingest`, each operation is a put and then one ingest of two table
// files (IngestMode.swift); after a kill each ingest is in whole or not at
// all (Tests/RingKVTests/Ingest/IngestCrashTests.swift).
//
// Operation `op` of thread `t` is up to three atomic writes, one after
// another: put key(t, op) = value(t, op) (a plain `put`, or for
// op % 4 == 3 a batch that also deletes key(t, op - 3)); put rangeKey(t, op);
// and for op % 8 == 7 a `deleteRange` over rangeKey(t, op - 7 ... op - 3).
// The ack comes after all of them, and a thread starts its next operation
// only after its ack. So after a kill every acknowledged operation must
// have taken effect in full, and only the one after a thread's last ack can
// have taken effect in part — a prefix of its writes (the exact oracle:
// Tests/RingKVTests/DB/CrashOracle.swift, which mirrors these operations).
//
// With RINGKV_DENY_IO_URING=1 in the environment it first installs a
// seccomp filter that makes io_uring_setup fail with EPERM, as Docker's
// default profile does, so the database runs on the plain-syscall
// fallback against the kernel's real refusal; it reports the I/O paths
// the database chose ("io <backend> <wal>") before the first write.
import CRingSupport
import Glibc
import RingKV

func key(_ thread: Int, _ op: Int) -> [UInt8] { Array("t\(thread)-k\(op)".utf8) }
/// Keys of one group of 8 ops share a prefix, so one range covers five of them.
func rangeKey(_ thread: Int, _ op: Int) -> [UInt8] { Array("t\(thread)-r\(op / 8)-\(op % 8)".utf8) }
func rangeDeletion(_ thread: Int, _ op: Int) -> (from: [UInt8], to: [UInt8]) {
    (Array("t\(thread)-r\(op / 8)-0".utf8), Array("t\(thread)-r\(op / 8)-5".utf8))
}
func value(_ thread: Int, _ op: Int, _ seed: Int) -> [UInt8] {
    Array("v\(seed)-\(thread)-\(op)-".utf8) + [UInt8](repeating: UInt8(op & 0xff), count: (op * 7) % 300)
}

let args = CommandLine.arguments
guard args.count == 5 || (args.count == 6 && ["keyspaces", "ingest", "merges", "bank"].contains(args[5])),
      let seed = Int(args[2]), let threads = Int(args[3]) else {
    print("usage: crashwriter DB_PATH SEED THREADS sync|nosync [keyspaces|ingest|merges|bank]")
    exit(2)
}
let keyspaceMode = args.count == 6 && args[5] == "keyspaces"
let ingestMode = args.count == 6 && args[5] == "ingest"
let mergeMode = args.count == 6 && args[5] == "merges"
let bankMode = args.count == 6 && args[5] == "bank"
let sync = args[4] == "sync"
if let deny = getenv("RINGKV_DENY_IO_URING"), String(cString: deny) == "1" {
    let rc = rk_deny_io_uring_setup()
    if rc != 0 {
        print("open failed: seccomp refused (errno \(-rc))")
        exit(3)
    }
}
var options = Options()
options.createIfMissing = true
options.memtableSizeBytes = 256 << 10  // small: flushes happen while we are killed
options.walPreallocateBytes = 1 << 20
if mergeMode {
    options.mergeOperator = CounterMerge()
    options.memtableSizeBytes = 32 << 10  // operands spread over many tables
}
if bankMode { options.mergeOperator = CounterMerge() }  // the transfer counter (BankMode.swift)
let db: DB
do {
    db = try DB(path: args[1], options: options)
} catch {
    print("open failed: \(error)")
    exit(3)
}

/// The keyspaces of `keyspaces` mode: "default" and two more, whose
/// memtables fill at other rates than the default one's.
let keyspaces: [Keyspace]
do {
    keyspaces = keyspaceMode
        ? [try db.keyspace("default"), try db.keyspace("ks1", options: KeyspaceOptions(memtableSizeBytes: 64 << 10)),
           try db.keyspace("ks2", options: KeyspaceOptions(memtableSizeBytes: 1 << 20))]
        : []
} catch {
    print("open failed: keyspaces: \(error)")
    exit(3)
}

/// What every writer thread shares.
final class Shared: @unchecked Sendable {
    // @unchecked Sendable: `db` and the keyspace handles are thread-safe;
    // `outputLock` is a pthread mutex only used through pthread calls; the
    // rest is immutable (`bank` is set once, before any writer starts).
    let db: DB
    let seed: Int
    let sync: Bool
    let keyspaces: [Keyspace]
    let merges: Bool
    /// `bank` mode (BankMode.swift).
    var bank = false
    let outputLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(db: DB, seed: Int, sync: Bool, keyspaces: [Keyspace], merges: Bool) {
        self.merges = merges
        self.db = db
        self.seed = seed
        self.sync = sync
        self.keyspaces = keyspaces
        pthread_mutex_init(outputLock, nil)
    }

    /// `keyspaces` mode: one batch per operation, across every keyspace.
    func keyspaceWriter(_ thread: Int) -> Never {
        var op = 0
        while true {
            var batch = WriteBatch()
            for keyspace in keyspaces {
                batch.put(key(thread, op), value(thread, op, seed), in: keyspace)
                if op % 4 == 3 { batch.delete(key(thread, op - 3), in: keyspace) }
            }
            do {
                try db.write(batch, options: WriteOptions(sync: sync))
            } catch {
                report("error \(error)")
                exit(4)
            }
            report("ack \(thread) \(op)")
            op += 1
        }
    }

    /// `merges` mode: one merge (or delete + merge batch) per operation.
    func mergeWriter(_ thread: Int) -> Never {
        var op = 0
        while true {
            let counter = Array("t\(thread)-c\(op % 4)".utf8)
            do {
                if op % 10 == 9 {
                    var batch = WriteBatch()
                    batch.delete(counter)
                    batch.merge(counter, CounterMerge.operand(Int64(op + 1)))
                    try db.write(batch, options: WriteOptions(sync: sync))
                } else {
                    try db.merge(counter, CounterMerge.operand(Int64(op + 1)), options: WriteOptions(sync: sync))
                }
            } catch {
                report("error \(error)")
                exit(4)
            }
            report("ack \(thread) \(op)")
            op += 1
        }
    }

    func report(_ line: String) {
        pthread_mutex_lock(outputLock)
        var bytes = Array(line.utf8)
        bytes.append(10)
        _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        pthread_mutex_unlock(outputLock)
    }

    func writer(_ thread: Int) -> Never {
        var op = 0
        while true {
            do {
                if op % 4 == 3 {
                    var batch = WriteBatch()
                    batch.put(key(thread, op), value(thread, op, seed))
                    batch.delete(key(thread, op - 3))
                    try db.write(batch, options: WriteOptions(sync: sync))
                } else {
                    try db.put(key(thread, op), value(thread, op, seed), options: WriteOptions(sync: sync))
                }
                try db.put(rangeKey(thread, op), value(thread, op, seed), options: WriteOptions(sync: sync))
                if op % 8 == 7 {
                    let range = rangeDeletion(thread, op)
                    try db.deleteRange(from: range.from, to: range.to, options: WriteOptions(sync: sync))
                }
            } catch {
                report("error \(error)")
                exit(4)
            }
            report("ack \(thread) \(op)")
            op += 1
        }
    }
}

final class ThreadArgument {
    let shared: Shared
    let thread: Int
    init(_ shared: Shared, _ thread: Int) {
        self.shared = shared
        self.thread = thread
    }
}

/// Starts one writer thread per index. A nonisolated function, so the
/// thread entry closure is not main-actor isolated.
func startWriters(_ shared: Shared, count: Int) -> [pthread_t] {
    var handles: [pthread_t] = []
    for t in 0..<count {
        var handle = pthread_t()
        let argument = Unmanaged.passRetained(ThreadArgument(shared, t)).toOpaque()
        pthread_create(&handle, nil, { raw in
            let argument = Unmanaged<ThreadArgument>.fromOpaque(raw!).takeRetainedValue()
            if argument.shared.bank {
                argument.shared.bankWriter(argument.thread)
            } else if ingestMode {
                argument.shared.ingestWriter(argument.thread, directory: args[1] + ".files")
            } else if argument.shared.merges {
                argument.shared.mergeWriter(argument.thread)
            } else if argument.shared.keyspaces.isEmpty {
                argument.shared.writer(argument.thread)
            } else {
                argument.shared.keyspaceWriter(argument.thread)
            }
        }, argument)
        handles.append(handle)
    }
    return handles
}

let shared = Shared(db: db, seed: seed, sync: sync, keyspaces: keyspaces, merges: mergeMode)
let stats = db.stats()
shared.report("io \(stats.ioBackend) \(stats.walIOBackend.map { "\($0)" } ?? "none")")
var writerThreads = threads
if bankMode {
    shared.bank = true
    do {
        try Bank.setUp(db, sync: true)
    } catch {
        shared.report("error \(error)")
        exit(4)
    }
    if threads >= 3 {
        writerThreads = threads - 2
        for worker in writerThreads..<threads {
            Task.detached { await shared.bankTask(worker) }
        }
    }
}
for h in startWriters(shared, count: writerThreads) { pthread_join(h, nil) }
