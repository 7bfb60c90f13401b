import Glibc
import Testing
@testable import RingKV

/// The model test of issue 23: random puts, deletes, range deletions and
/// batches across several keyspaces, with flushes, compactions, reopens
/// (clean and after an abandoned process), drops and re-creations, checked
/// against one dictionary per keyspace after every few steps. Small
/// memtables and level targets, so switches, flushes and compactions of
/// every keyspace happen all along. RINGKV_SEED replays a run.
@Suite struct KeyspaceModelTests {
    typealias Model = [String: [UInt8]]

    static func options() -> Options {
        var options = CompactionFixtures.smallOptions(memtableBytes: 24 << 10, targetFileBytes: 32 << 10,
                                                      l1Bytes: 128 << 10)
        options.totalMemtableSizeBytes = 64 << 10
        return options
    }

    /// Everything `handle` holds, by scan.
    static func contents(_ handle: Keyspace) throws -> Model {
        var model: Model = [:]
        for row in try handle.scan() { model[String(decoding: row.key, as: UTF8.self)] = row.value }
        return model
    }

    static func differences(_ got: Model, _ expected: Model) -> String {
        let keys = Set(got.keys).union(expected.keys).sorted().filter { got[$0] != expected[$0] }
        return keys.prefix(4).map { "\($0): got \(got[$0].map { "\($0.count) B" } ?? "nil"), expected "
            + "\(expected[$0].map { "\($0.count) B" } ?? "nil")" }.joined(separator: "; ")
            + (keys.count > 4 ? " (\(keys.count) keys differ)" : "")
    }

    @Test func randomOperationsAcrossKeyspacesMatchADictionaryPerKeyspace() throws {
        let seed = testSeed()
        print("KeyspaceModelTests seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let steps = Int(getenv("RINGKV_KEYSPACE_MODEL_STEPS").map { String(cString: $0) } ?? "") ?? 3000
        let dir = try TempDir()
        let path = dir.sub("db")
        var db = try DB(path: path, options: Self.options())
        // Live keyspaces in creation order ("default" first), their models
        // and handles; handles of dropped keyspaces, which must keep failing.
        var order = ["default"]
        var models: [String: Model] = ["default": [:]]
        var handles: [String: Keyspace] = ["default": try db.keyspace("default")]
        var droppedHandles: [Keyspace] = []
        var counter = 0
        var counts = [String: Int]()
        let pool = ["a", "b", "c", "d"]

        func key() -> String { "k\(Int.random(in: 0..<150, using: &rng))" }
        func value() -> [UInt8] {
            counter += 1
            return Array("v\(counter)-".utf8) + [UInt8](repeating: UInt8(counter & 0xff),
                                                        count: Int.random(in: 0...200, using: &rng))
        }
        func anyLive() -> String { order[Int.random(in: 0..<order.count, using: &rng)] }
        func deleteRange(_ model: inout Model, _ from: String, _ to: String) {
            for k in model.keys where !k.utf8.lexicographicallyPrecedes(from.utf8) && k.utf8.lexicographicallyPrecedes(to.utf8) {
                model[k] = nil
            }
        }
        func ordered(_ a: String, _ b: String) -> (String, String) {
            a.utf8.lexicographicallyPrecedes(b.utf8) ? (a, b) : (b, a)
        }
        func check(_ context: String) throws {
            #expect(db.keyspaceNames() == order, "\(context): seed \(seed)")
            for name in order {
                let got = try Self.contents(try #require(handles[name]))
                let expected = models[name] ?? [:]
                let same = got == expected
                #expect(same, "\(context), keyspace \(name): \(Self.differences(got, expected)); seed \(seed)")
                if !same { throw CancellationError() }
            }
            for handle in droppedHandles.suffix(2) {
                #expect(throws: DBError.keyspaceDropped(name: handle.name)) { _ = try handle.get("k1") }
            }
        }

        for step in 0..<steps {
            let roll = Int.random(in: 0..<1000, using: &rng)
            let context = "step \(step)"
            switch roll {
            case 0..<400:
                let name = anyLive()
                let k = key(), v = value()
                try handles[name]!.put(k, v)
                models[name, default: [:]][k] = v
                counts["put", default: 0] += 1
            case 400..<550:
                let name = anyLive()
                let k = key()
                try handles[name]!.delete(k)
                models[name, default: [:]][k] = nil
                counts["delete", default: 0] += 1
            case 550..<580:
                let name = anyLive()
                let (from, to) = ordered(key(), key())
                try handles[name]!.deleteRange(from: from, to: to)
                deleteRange(&models[name, default: [:]], from, to)
                counts["deleteRange", default: 0] += 1
            case 580..<880:
                // A batch across up to three keyspaces, atomic.
                var batch = WriteBatch()
                var after = models
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let name = anyLive()
                    let handle = handles[name]!
                    let k = key()
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0..<6:
                        let v = value()
                        if name == "default" && Bool.random(using: &rng) { batch.put(k, v) } else { batch.put(k, v, in: handle) }
                        after[name, default: [:]][k] = v
                    case 6..<9:
                        batch.delete(k, in: handle)
                        after[name, default: [:]][k] = nil
                    default:
                        let (from, to) = ordered(k, key())
                        batch.deleteRange(from: from, to: to, in: handle)
                        deleteRange(&after[name, default: [:]], from, to)
                    }
                }
                try db.write(batch)
                models = after
                counts["batch", default: 0] += 1
            case 880..<920:
                try handles[anyLive()]!.flush()
                counts["flush", default: 0] += 1
            case 920..<930:
                try handles[anyLive()]!.compactRange()
                counts["compactRange", default: 0] += 1
            case 930..<955:
                let candidates = pool.filter { models[$0] == nil }
                guard let name = candidates.randomElement(using: &rng) else { continue }
                handles[name] = try db.keyspace(name)
                models[name] = [:]
                order.append(name)
                counts["create", default: 0] += 1
            case 955..<970:
                let candidates = order.filter { $0 != "default" }
                guard let name = candidates.randomElement(using: &rng) else { continue }
                if Bool.random(using: &rng) { try db.dropKeyspace(name) } else { try db.dropKeyspace(handles[name]!) }
                droppedHandles.append(handles[name]!)
                handles[name] = nil
                models[name] = nil
                order.removeAll { $0 == name }
                counts["drop", default: 0] += 1
            case 970..<985:
                // Reopen: cleanly, or after the process "died" (the page
                // cache keeps every acknowledged write; the WAL replays them
                // into their keyspaces).
                let clean = Bool.random(using: &rng)
                if clean { try db.close() } else { db.impl.abandonForCrashTest() }
                handles = [:]
                droppedHandles = []  // (a handle of the closed database throws `.closed`)
                db = try DB(path: path, options: Self.options())
                for name in order { handles[name] = try db.existingKeyspace(name) }
                counts[clean ? "reopen" : "crashReopen", default: 0] += 1
                try check("\(context) after \(clean ? "reopen" : "crash reopen")")
            default:
                try check(context)
            }
        }
        try check("end")
        print("KeyspaceModelTests seed \(seed): \(counts.sorted { $0.key < $1.key })")
        for op in ["put", "delete", "deleteRange", "batch", "flush", "compactRange", "create", "drop", "reopen",
                   "crashReopen"] {
            #expect(counts[op, default: 0] > 0, "seed \(seed): no \(op) in \(steps) steps")
        }
        try db.close()
    }
}
