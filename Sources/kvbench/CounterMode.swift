import Glibc
import KVBenchCore
import RingKV
import Synchronization

/// `kvbench --workload counter`: counter increments with merge operands
/// against increments by get + put, over the same number of keys.
///
/// The database opens with `CounterMerge`. Each round runs two phases one
/// after the other (interleaved, so both see the same machine load):
/// 1. **merge**: `--threads` threads each do `--operations / threads`
///    `merge(key, CounterMerge.operand(1))` on uniformly random keys among
///    `--records` counters ("m:<n>");
/// 2. **get+put**: the same number of increments as `get`, decode, add 1,
///    `put` on the same number of other counters ("p:<n>"). (With several
///    threads these increments race and lose updates; the merge ones never
///    do — only the rate is compared.)
/// Every counter exists (0) before the first round (`preloadIfNeeded`).
/// The rates, their ratio and the medians over `--rounds` go to stdout
/// (`--json`: one object). At the end the merge counters must sum to the
/// number of merges made, read back with `multiGet`: a check that no
/// increment was lost.
struct CounterMode {
    let dbPath: String
    let config: BenchConfig
    let rounds: Int
    let json: Bool

    struct Round {
        var mergesPerSecond = 0.0
        var getPutsPerSecond = 0.0
        var ratio: Double { getPutsPerSecond > 0 ? mergesPerSecond / getPutsPerSecond : 0 }
    }

    static func key(_ prefix: String, _ n: UInt64) -> [UInt8] { Array("\(prefix):\(n)".utf8) }

    func run() throws {
        var options = config.makeOptions()
        options.mergeOperator = CounterMerge()
        let db = try DB(path: dbPath, options: options)
        defer { try? db.close() }
        let keys = UInt64(max(config.records, 1))
        let threads = max(config.threads, 1)
        let perThread = Int(max(config.operations, 1)) / threads
        try preloadIfNeeded(db, keys: keys)
        var merged: Int64 = 0
        // What the merge counters held before (a rerun on the same database).
        let before = try sum(db, keys: keys)
        var results: [Round] = []
        for round in 0..<rounds {
            var r = Round()
            let sync = config.sync
            r.mergesPerSecond = try phase(threads: threads, perThread: perThread,
                                          seed: config.seed &+ UInt64(round) &* 7919) { rng in
                try db.merge(Self.key("m", rng.below(keys)), CounterMerge.operand(1), options: WriteOptions(sync: sync))
            }
            merged += Int64(threads * perThread)
            r.getPutsPerSecond = try phase(threads: threads, perThread: perThread,
                                           seed: config.seed &+ UInt64(round) &* 104_729) { rng in
                let key = Self.key("p", rng.below(keys))
                let n = CounterMerge.value(try db.get(key)) ?? 0
                try db.put(key, CounterMerge.operand(n + 1), options: WriteOptions(sync: sync))
            }
            results.append(r)
            if !json {
                print("round \(round + 1): merge \(AsyncGetsMode.int(r.mergesPerSecond)) increments/s, "
                      + "get+put \(AsyncGetsMode.int(r.getPutsPerSecond)) increments/s, "
                      + "ratio \(AsyncGetsMode.fixed(r.ratio))")
            }
        }
        let total = try sum(db, keys: keys) - before
        guard total == merged else {
            throw BenchError("the merge counters grew by \(total), \(merged) increments were merged")
        }
        let medianMerge = AsyncGetsMode.median(results.map(\.mergesPerSecond))
        let medianGetPut = AsyncGetsMode.median(results.map(\.getPutsPerSecond))
        let medianRatio = AsyncGetsMode.median(results.map(\.ratio))
        if json {
            print("{\"workload\":\"counter\",\"keys\":\(keys),\"threads\":\(threads),\"incrementsPerPhase\":"
                  + "\(threads * perThread),\"rounds\":\(rounds),\"mergesPerSecond\":\(AsyncGetsMode.int(medianMerge)),"
                  + "\"getPutsPerSecond\":\(AsyncGetsMode.int(medianGetPut)),\"ratio\":\(AsyncGetsMode.fixed(medianRatio)),"
                  + "\"mergeCountersChecked\":\(total)}")
        } else {
            print("median of \(rounds): merge \(AsyncGetsMode.int(medianMerge)) increments/s, get+put "
                  + "\(AsyncGetsMode.int(medianGetPut)) increments/s, ratio \(AsyncGetsMode.fixed(medianRatio)) "
                  + "(\(keys) counters, \(threads) threads; merge counters sum checked: +\(total))")
        }
    }

    /// Writes every counter of both kinds (0) and compacts, unless the
    /// last one is there: the get of a get+put increment then finds its
    /// counter in a table, as it would in a database that has them (with
    /// `--direct-reads` and a small `--cache-mb`, on the device).
    private func preloadIfNeeded(_ db: DB, keys: UInt64) throws {
        if try db.get(Self.key("p", keys - 1)) != nil { return }
        printError("kvbench: writing \(keys) counters of each kind")
        var batch = WriteBatch()
        for n in 0..<keys {
            batch.put(Self.key("m", n), CounterMerge.operand(0))
            batch.put(Self.key("p", n), CounterMerge.operand(0))
            if batch.count >= 1000 {
                try db.write(batch)
                batch.clear()
            }
        }
        try db.write(batch)
        try db.compactRange()
    }

    /// The sum of every merge counter.
    private func sum(_ db: DB, keys: UInt64) throws -> Int64 {
        var total: Int64 = 0
        var start: UInt64 = 0
        while start < keys {
            let end = min(start + 1000, keys)
            for value in try db.multiGet((start..<end).map { Self.key("m", $0) }) {
                total += CounterMerge.value(value) ?? 0
            }
            start = end
        }
        return total
    }

    /// `threads` threads each running `body` `perThread` times; returns
    /// operations per second.
    private func phase(threads: Int, perThread: Int, seed: UInt64,
                       _ body: @escaping @Sendable (inout BenchRandom) throws -> Void) throws -> Double {
        let failures = Atomic<Int>(0)
        let start = AsyncGetsMode.nanos()
        var handles: [pthread_t] = []
        for t in 0..<threads {
            handles.append(try AsyncGetsMode.startThread {
                var rng = BenchRandom(seed: seed, thread: t)
                for _ in 0..<perThread {
                    do { try body(&rng) } catch { failures.add(1, ordering: .relaxed) }
                }
            })
        }
        for handle in handles { pthread_join(handle, nil) }
        let seconds = Double(AsyncGetsMode.nanos() - start) / 1e9
        let failed = failures.load(ordering: .relaxed)
        if failed > 0 { throw BenchError("\(failed) operations failed") }
        return Double(threads * perThread) / seconds
    }
}
