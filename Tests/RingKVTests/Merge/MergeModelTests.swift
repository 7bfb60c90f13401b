import Glibc
import Testing
@testable import RingKV

/// The merge model test of issue 24: random puts, merges (CounterMerge),
/// deletes, range deletions and batches in two keyspaces, with snapshots
/// held across flushes and compactions, and reopens (clean and after an
/// abandoned process), checked against a dictionary through every read
/// path: get, withValue, multiGet, forward and backward iteration, async
/// get and multiGet, and reads at each live snapshot. Small memtables, so
/// operands of one key spread over the memtable, L0 and several levels,
/// and flush and compaction fold them. RINGKV_SEED replays a run.
@Suite struct MergeModelTests {
    typealias Model = [String: Int64]

    static func options() -> Options {
        var options = CompactionFixtures.smallOptions(memtableBytes: 16 << 10, targetFileBytes: 16 << 10,
                                                      l1Bytes: 64 << 10)
        options.mergeOperator = CounterMerge()
        return options
    }

    static func scanModel(_ handle: Keyspace, options: ReadOptions = ReadOptions(), reverse: Bool = false) throws -> Model {
        var model: Model = [:]
        for row in try handle.scan(reverse: reverse, options: options) {
            model[String(decoding: row.key, as: UTF8.self)] = CounterMerge.value(row.value) ?? Int64.min
        }
        return model
    }

    static func describe(_ got: Model, _ expected: Model) -> String {
        let keys = Set(got.keys).union(expected.keys).sorted().filter { got[$0] != expected[$0] }
        return keys.prefix(4).map { "\($0): got \(got[$0].map(String.init) ?? "nil"), expected "
            + "\(expected[$0].map(String.init) ?? "nil")" }.joined(separator: "; ")
            + (keys.count > 4 ? " (\(keys.count) keys differ)" : "")
    }

    @Test func mergesMatchADictionaryAcrossFlushCompactionSnapshotsAndReopen() async throws {
        let seed = testSeed()
        print("MergeModelTests seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let steps = Int(getenv("RINGKV_MERGE_MODEL_STEPS").map { String(cString: $0) } ?? "") ?? 2500
        let dir = try TempDir()
        let path = dir.sub("db")
        func open() throws -> (DB, [Keyspace]) {
            let db = try DB(path: path, options: Self.options())
            return (db, [try db.keyspace("default"), try db.keyspace("counts")])
        }
        var (db, handles) = try open()
        let names = ["default", "counts"]
        var models: [Model] = [[:], [:]]
        var maintenance = ModelMaintenance<Model>()
        let keyCount = 40
        var stats = [String: Int]()

        func amount() -> Int64 { Int64.random(in: -1000...1000, using: &rng) }
        func inRange(_ k: String, _ from: String, _ to: String) -> Bool {
            !k.utf8.lexicographicallyPrecedes(from.utf8) && k.utf8.lexicographicallyPrecedes(to.utf8)
        }
        func check(_ context: String) throws {
            for (i, handle) in handles.enumerated() {
                let expected = models[i]
                let forward = try Self.scanModel(handle)
                #expect(forward == expected, "\(context) \(names[i]) scan: \(Self.describe(forward, expected)); seed \(seed)")
                let backward = try Self.scanModel(handle, reverse: true)
                #expect(backward == expected, "\(context) \(names[i]) reverse: \(Self.describe(backward, expected)); seed \(seed)")
                let keys = (0..<keyCount).map { String(format: "k%02d", $0) }
                let got = try handle.multiGet(keys)
                for (j, k) in keys.enumerated() {
                    let want = expected[k]
                    #expect(CounterMerge.value(got[j]) == want, "\(context) \(names[i]) multiGet \(k); seed \(seed)")
                    if j % 3 == 0 {
                        #expect(CounterMerge.value(try handle.get(Array(k.utf8))) == want,
                                "\(context) \(names[i]) get \(k); seed \(seed)")
                        let lent: Int64?? = try handle.withValue(forKey: k) { CounterMerge.value(Array($0)) }
                        #expect((lent ?? nil) == want, "\(context) \(names[i]) withValue \(k); seed \(seed)")
                    }
                }
                for (n, held) in maintenance.snapshots.enumerated() {
                    let at = ReadOptions(snapshot: held.snapshot)
                    let seen = try Self.scanModel(handle, options: at)
                    #expect(seen == held.models[i],
                            "\(context) \(names[i]) snapshot \(n): \(Self.describe(seen, held.models[i])); seed \(seed)")
                    let k = keys[n % keys.count]
                    #expect(CounterMerge.value(try handle.get(Array(k.utf8), options: at)) == held.models[i][k],
                            "\(context) \(names[i]) snapshot \(n) get \(k); seed \(seed)")
                }
            }
        }
        func asyncCheck(_ context: String) async throws {
            for (i, handle) in handles.enumerated() {
                let expected = models[i]
                let keys = (0..<keyCount).map { String(format: "k%02d", $0) }
                let got = try await handle.multiGet(keys)
                for (j, k) in keys.enumerated() {
                    #expect(CounterMerge.value(got[j]) == expected[k], "\(context) \(names[i]) async multiGet \(k); seed \(seed)")
                    if j % 4 == 0 {
                        let one = try await handle.get(Array(k.utf8))
                        #expect(CounterMerge.value(one) == expected[k], "\(context) \(names[i]) async get \(k); seed \(seed)")
                    }
                }
            }
        }

        /// One random operation (sync API); true: run the async checks.
        func step(_ step: Int) throws -> Bool {
            let target = Int.random(in: 0..<2, using: &rng)
            let handle = handles[target]
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<45:
                let k = String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng))
                let n = amount()
                try handle.merge(Array(k.utf8), CounterMerge.operand(n))
                models[target][k] = (models[target][k] ?? 0) &+ n
                stats["merge", default: 0] += 1
            case 45..<55:
                let k = String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng))
                let n = amount()
                try handle.put(Array(k.utf8), CounterMerge.operand(n))
                models[target][k] = n
                stats["put", default: 0] += 1
            case 55..<61:
                let k = String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng))
                try handle.delete(Array(k.utf8))
                models[target][k] = nil
                stats["delete", default: 0] += 1
            case 61..<64:
                let a = String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng))
                let b = String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng))
                let (from, to) = a < b ? (a, b) : (b, a)
                try handle.deleteRange(from: Array(from.utf8), to: Array(to.utf8))
                for k in models[target].keys where inRange(k, from, to) { models[target][k] = nil }
                stats["deleteRange", default: 0] += 1
            case 64..<72:
                // A batch across both keyspaces, merges of one key twice.
                var batch = WriteBatch()
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let t = Int.random(in: 0..<2, using: &rng)
                    let k = String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng))
                    let n = amount()
                    if Bool.random(using: &rng) {
                        batch.merge(k, CounterMerge.operand(n), in: handles[t])
                        models[t][k] = (models[t][k] ?? 0) &+ n
                    } else {
                        batch.merge(k, CounterMerge.operand(n), in: handles[t])
                        batch.merge(k, CounterMerge.operand(-n), in: handles[t])
                        batch.put(k, CounterMerge.operand(n), in: handles[t])
                        batch.merge(k, CounterMerge.operand(1), in: handles[t])
                        models[t][k] = n &+ 1
                    }
                }
                try db.write(batch)
                stats["batch", default: 0] += 1
            case 72..<76:
                return true
            case 76..<88:
                try maintenance.run(.forRoll(roll - 76), on: handle, db: &db, handles: &handles, models: models,
                                    rng: &rng, stats: &stats, open: open)
            default:
                try check("step \(step)")
            }
            return false
        }

        for n in 0..<steps {
            if try step(n) {
                try await asyncCheck("step \(n)")
                let k = String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng))
                try await handles[1].merge(k, CounterMerge.operand(7))
                models[1][k, default: 0] &+= 7
                stats["asyncMerge", default: 0] += 1
            }
        }
        func finish() throws {
            try db.compactRange()
            try handles[1].compactRange()
            try check("after full compaction")
            print("MergeModelTests operations \(stats.sorted { $0.key < $1.key })")
            maintenance.snapshots.removeAll()
            try db.close()
        }
        try check("end")
        try await asyncCheck("end")
        try finish()
    }
}
