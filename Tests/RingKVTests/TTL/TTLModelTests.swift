import Glibc
import Testing
@testable import RingKV

/// The TTL model test: random puts, batches, deletes and range deletions
/// in a TTL keyspace and a plain one (batches span both), a clock moved
/// forward by random steps, snapshots held across flushes and
/// compactions (background ones too: small memtables and tables), and
/// reopens (clean and as a process that died), checked against a
/// dictionary of (value, write time) through get, multiGet, both
/// iteration directions and reads at each live snapshot. RINGKV_SEED
/// replays a run.
@Suite struct TTLModelTests {
    struct Entry: Equatable {
        var value: String
        var writtenNanos: UInt64
    }
    typealias Model = [String: Entry]
    static let ttlNanos: UInt64 = 10_000_000_000

    @Test func ttlKeyspaceMatchesAModelAcrossFlushCompactionSnapshotsAndReopen() throws {
        let seed = testSeed()
        print("TTLModelTests seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let steps = Int(getenv("RINGKV_TTL_MODEL_STEPS").map { String(cString: $0) } ?? "") ?? 2500
        let clock = TTLTestClock()
        let dir = try TempDir()
        let path = dir.sub("db")
        func open() throws -> (DB, [Keyspace]) {
            var options = CompactionFixtures.smallOptions(memtableBytes: 16 << 10, targetFileBytes: 16 << 10,
                                                          l1Bytes: 64 << 10)
            options.ttlClock = { clock.now }
            let db = try DB(path: path, options: options)
            return (db, [try db.keyspace("ttl", options: KeyspaceOptions(ttl: .nanoseconds(Int64(Self.ttlNanos)))),
                         try db.keyspace("plain")])
        }
        var (db, handles) = try open()
        var models: [Model] = [[:], [:]]
        var maintenance = ModelMaintenance<Model>()
        let keyCount = 60
        var stats = [String: Int]()
        func key() -> String { String(format: "k%02d", Int.random(in: 0..<keyCount, using: &rng)) }
        func value() -> String { String(repeating: "v", count: Int.random(in: 0...40, using: &rng)) + "\(rng.next() % 1000)" }
        /// What a reader sees now of a model: the plain keyspace all of
        /// it, the TTL one the entries at most ttl old.
        func visible(_ model: Model, ttl: Bool) -> [String: String] {
            let now = clock.now
            var out: [String: String] = [:]
            for (k, e) in model where !ttl || now <= e.writtenNanos || now - e.writtenNanos <= Self.ttlNanos {
                out[k] = e.value
            }
            return out
        }
        func seen(_ handle: Keyspace, options: ReadOptions = ReadOptions(), reverse: Bool = false) throws -> [String: String] {
            var out: [String: String] = [:]
            for row in try handle.scan(reverse: reverse, options: options) { out[TTLFixtures.text(row.key)] = TTLFixtures.text(row.value) }
            return out
        }
        func check(_ context: String) throws {
            let keys = (0..<keyCount).map { String(format: "k%02d", $0) }
            for (i, handle) in handles.enumerated() {
                let expected = visible(models[i], ttl: i == 0)
                #expect(try seen(handle) == expected, "\(context) ks \(i) scan; seed \(seed)")
                #expect(try seen(handle, reverse: true) == expected, "\(context) ks \(i) reverse; seed \(seed)")
                let got = try handle.multiGet(keys.map { Array($0.utf8) })
                for (j, k) in keys.enumerated() {
                    #expect(got[j].map(TTLFixtures.text) == expected[k], "\(context) ks \(i) multiGet \(k); seed \(seed)")
                    if j % 5 == 0 {
                        #expect(try handle.get(k) == expected[k], "\(context) ks \(i) get \(k); seed \(seed)")
                    }
                }
                for (n, held) in maintenance.snapshots.enumerated() {
                    let want = visible(held.models[i], ttl: i == 0)
                    #expect(try seen(handle, options: ReadOptions(snapshot: held.snapshot)) == want,
                            "\(context) ks \(i) snapshot \(n); seed \(seed)")
                }
            }
        }
        for step in 0..<steps {
            let t = Int.random(in: 0..<2, using: &rng)
            let handle = handles[t]
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<35:
                let (k, v) = (key(), value())
                try handle.put(k, v)
                models[t][k] = Entry(value: v, writtenNanos: clock.now)
                stats["put", default: 0] += 1
            case 35..<45:
                var batch = WriteBatch()
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let bt = Int.random(in: 0..<2, using: &rng)
                    let k = key()
                    if Int.random(in: 0..<4, using: &rng) == 0 {
                        batch.delete(k, in: handles[bt])
                        models[bt][k] = nil
                    } else {
                        let v = value()
                        batch.put(k, v, in: handles[bt])
                        models[bt][k] = Entry(value: v, writtenNanos: clock.now)
                    }
                }
                try db.write(batch)
                stats["batch", default: 0] += 1
            case 45..<52:
                let k = key()
                try handle.delete(k)
                models[t][k] = nil
                stats["delete", default: 0] += 1
            case 52..<55:
                let (a, b) = (key(), key())
                let (from, to) = a < b ? (a, b) : (b, a)
                try handle.deleteRange(from: from, to: to)
                for k in models[t].keys where k >= from && k < to { models[t][k] = nil }
                stats["deleteRange", default: 0] += 1
            case 55..<75:
                // Mostly small steps, sometimes past a whole ttl.
                let big = Int.random(in: 0..<10, using: &rng) == 0
                clock.advance(UInt64.random(in: 0...(big ? 2 * Self.ttlNanos : Self.ttlNanos / 5), using: &rng))
                stats["advance", default: 0] += 1
            case 75..<87:
                try maintenance.run(.forRoll(roll - 75), on: handle, db: &db, handles: &handles, models: models,
                                    rng: &rng, stats: &stats, open: open)
            default:
                try check("step \(step)")
            }
        }
        maintenance.snapshots.removeAll()
        try handles[0].compactRange()
        try check("after full compaction")
        // Every entry of the TTL keyspace's tables is live: expired ones
        // were removed (nothing holds a snapshot).
        let live = visible(models[0], ttl: true).count
        let counts = try TTLFixtures.tableEntryCounts(db, handles[0])
        #expect(counts.entries <= UInt64(live), "\(counts) entries, \(live) live; seed \(seed)")
        print("TTLModelTests operations \(stats.sorted { $0.key < $1.key })")
        try db.close()
    }
}
