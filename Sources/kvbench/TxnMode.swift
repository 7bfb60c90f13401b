import Glibc
import KVBenchCore
import RingKV
import Synchronization

/// `kvbench --workload txn` (docs/TRANSACTIONS.md):
///
/// - contended (default): `--threads` T threads move money between random
///   pairs of `--accounts` K hot accounts ("acct/%08d", 8-byte
///   little-endian balances), each transfer one optimistic transaction
///   (2 gets, 2 puts, commit), retried on conflict; `--operations`
///   transfers in all. Reports commits/s and the conflict rate
///   (conflicts / attempts). Peers/rocksdb/txn_rocksdb.c runs the same
///   workload on RocksDB's OptimisticTransactionDB.
/// - `--uncontended`: each thread works on keys of its own (1000 per
///   thread), alternating rounds of (a) transactions of 2 reads + 2
///   writes and (b) plain WriteBatches of the same 2 writes, each in a
///   database of its own (so the batch side never pays conflict
///   tracking); `--rounds` rounds of `--operations` each, medians and
///   their ratio.
struct TxnMode {
    let dbPath: String
    let config: BenchConfig
    let accounts: Int
    let uncontended: Bool
    let rounds: Int
    let json: Bool

    static func account(_ i: Int) -> [UInt8] {
        var s = String(i)
        while s.count < 8 { s = "0" + s }
        return Array(("acct/" + s).utf8)
    }

    static func key(_ t: Int, _ i: Int) -> [UInt8] { Array("u/\(t)/\(i)".utf8) }

    static func encode(_ n: Int64) -> [UInt8] { withUnsafeBytes(of: n.littleEndian) { Array($0) } }
    static func decode(_ v: [UInt8]?) -> Int64 {
        guard let v, v.count == 8 else { return 0 }
        return v.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
    }

    func run() throws {
        if uncontended { try runUncontended() } else { try runContended() }
    }

    // MARK: - Contended transfers

    func runContended() throws {
        let db = try DB(path: dbPath, options: config.makeOptions())
        defer { try? db.close() }
        var batch = WriteBatch()
        for i in 0..<accounts { batch.put(Self.account(i), Self.encode(1_000_000)) }
        try db.write(batch)
        let threads = config.threads
        let perThread = Int(config.operations) / threads
        let sync = WriteOptions(sync: config.sync)
        let conflicts = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let accounts = self.accounts
        let seed = config.seed
        let start = MonotonicNanos.now()
        runThreads(threads) { t in
            var rng = SplitMix(seed: seed &+ UInt64(t))
            for _ in 0..<perThread {
                let a = rng.next(accounts)
                var b = rng.next(accounts - 1)
                if b >= a { b += 1 }
                while true {
                    let txn = db.beginTransaction(options: sync)
                    do {
                        let x = Self.decode(try txn.get(Self.account(a)))
                        let y = Self.decode(try txn.get(Self.account(b)))
                        try txn.put(Self.account(a), Self.encode(x - 1))
                        try txn.put(Self.account(b), Self.encode(y + 1))
                        try txn.commit()
                        break
                    } catch DBError.conflict {
                        conflicts.add(1, ordering: .relaxed)
                    } catch {
                        failures.add(1, ordering: .relaxed)
                        break
                    }
                }
            }
        }
        let seconds = Double(MonotonicNanos.now() - start) / 1e9
        let commits = perThread * threads
        let c = conflicts.load(ordering: .relaxed)
        // The balances must still sum to the opening total.
        var total: Int64 = 0
        for i in 0..<accounts { total += Self.decode(try db.get(Self.account(i))) }
        let line = "{\"engine\":\"ringkv\",\"workload\":\"txn\",\"threads\":\(threads),\"accounts\":\(accounts),"
            + "\"sync\":\(config.sync),\"commits\":\(commits),\"conflicts\":\(c),\"seconds\":\(fmt(seconds)),"
            + "\"commits_per_sec\":\(fmt(Double(commits) / seconds)),"
            + "\"conflict_rate\":\(fmt(Double(c) / Double(commits + c))),"
            + "\"failures\":\(failures.load(ordering: .relaxed)),\"total_ok\":\(total == Int64(accounts) * 1_000_000)}"
        print(line)
    }

    // MARK: - Uncontended: transactions vs WriteBatches

    func runUncontended() throws {
        let txnDB = try DB(path: dbPath + "/txn", options: config.makeOptions())
        defer { try? txnDB.close() }
        let batchDB = try DB(path: dbPath + "/batch", options: config.makeOptions())
        defer { try? batchDB.close() }
        let threads = config.threads
        let perThread = max(Int(config.operations) / threads, 1)
        let sync = WriteOptions(sync: config.sync)
        let value = [UInt8](repeating: 0x61, count: config.valueSizeBytes)
        for db in [txnDB, batchDB] {
            var batch = WriteBatch()
            for t in 0..<threads { for i in 0..<1000 { batch.put(Self.key(t, i), value) } }
            try db.write(batch)
        }
        var txnRates: [Double] = []
        var batchRates: [Double] = []
        let failures = Atomic<Int>(0)
        for round in 0..<rounds {
            for phase in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                let start = MonotonicNanos.now()
                runThreads(threads) { t in
                    var rng = SplitMix(seed: UInt64(round * 1000 + t))
                    for _ in 0..<perThread {
                        // Both sides build the same two keys once.
                        let ki = Self.key(t, rng.next(1000)), kj = Self.key(t, rng.next(1000))
                        do {
                            if phase == 0 {
                                // Own keys: a conflict is a false one
                                // (a slot collision, or the table's
                                // activation); retried and counted.
                                try txnDB.transaction(maxAttempts: 100, options: sync) { txn in
                                    _ = try txn.get(ki)
                                    _ = try txn.get(kj)
                                    try txn.put(ki, value)
                                    try txn.put(kj, value)
                                }
                            } else {
                                var batch = WriteBatch()
                                batch.put(ki, value)
                                batch.put(kj, value)
                                try batchDB.write(batch, options: sync)
                            }
                        } catch {
                            failures.add(1, ordering: .relaxed)
                        }
                    }
                }
                let rate = Double(perThread * threads) / (Double(MonotonicNanos.now() - start) / 1e9)
                if phase == 0 { txnRates.append(rate) } else { batchRates.append(rate) }
            }
        }
        let txnMedian = median(txnRates), batchMedian = median(batchRates)
        print("{\"engine\":\"ringkv\",\"workload\":\"txn-uncontended\",\"threads\":\(threads),\"rounds\":\(rounds),"
              + "\"ops_per_round\":\(perThread * threads),\"sync\":\(config.sync),"
              + "\"txn_per_sec\":\(fmt(txnMedian)),\"batch_per_sec\":\(fmt(batchMedian)),"
              + "\"ratio\":\(fmt(txnMedian / batchMedian)),\"txn_rounds\":\(txnRates.map { Int($0) }),"
              + "\"batch_rounds\":\(batchRates.map { Int($0) }),\"failures\":\(failures.load(ordering: .relaxed))}")
    }

    private func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }

    private func fmt(_ x: Double) -> String { String(Double(Int((x * 1000).rounded())) / 1000) }
}

/// Runs `body(t)` on `count` threads and waits for all.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Box: @unchecked Sendable {
        // @unchecked Sendable: immutable after init.
        let body: @Sendable (Int) -> Void
        let t: Int
        init(_ body: @escaping @Sendable (Int) -> Void, _ t: Int) {
            self.body = body
            self.t = t
        }
    }
    var handles: [pthread_t] = []
    for t in 0..<count {
        var handle = pthread_t()
        let box = Unmanaged.passRetained(Box(body, t)).toOpaque()
        pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body(box.t)
            return nil
        }, box)
        handles.append(handle)
    }
    for h in handles { pthread_join(h, nil) }
}

/// A small seeded generator for the benchmark threads.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(bound))
    }
}
