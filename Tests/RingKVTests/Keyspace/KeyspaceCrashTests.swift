import Glibc
import RingIO
import Testing
@testable import RingKV

/// The kill -9 loop of issue 23: crashwriter in `keyspaces` mode writes
/// one batch per operation across "default", "ks1" and "ks2" (their
/// memtables flush at different times, so the WAL holds data of some
/// keyspaces that others already flushed) and is SIGKILLed at a random
/// moment. After every reopen, each batch is in every keyspace or in
/// none, and each keyspace holds exactly the acknowledged operations plus
/// at most the one in flight per thread (the exact oracle). Cycles:
/// RINGKV_KEYSPACE_CRASH_CYCLES (default 24); RINGKV_SEED replays a run.
@Suite struct KeyspaceCrashTests {
    static var cycles: Int { KillNineLoop.cycles("RINGKV_KEYSPACE_CRASH_CYCLES", default: 24) }
    static let names = ["default", "ks1", "ks2"]

    /// What thread `thread`'s operations 0...`last` leave in one keyspace:
    /// key(op) = value(op), minus key(op - 3) for each op % 4 == 3.
    static func expected(thread: Int, last: Int, seed: Int) -> [[UInt8]: [UInt8]] {
        var state: [[UInt8]: [UInt8]] = [:]
        guard last >= 0 else { return state }
        for op in 0...last {
            state[CrashOracle.key(thread, op)] = CrashOracle.value(thread, op, seed)
            if op % 4 == 3 { state[CrashOracle.key(thread, op - 3)] = nil }
        }
        return state
    }

    @Test func everyCrossKeyspaceBatchIsInEveryKeyspaceOrInNone() throws {
        var loop = try KillNineLoop("KeyspaceCrashTests")
        let (seed, path, child) = (loop.seed, loop.path, loop.child)
        var inFlightApplied = 0, inFlightNone = 0, acknowledged = 0
        for cycle in 0..<Self.cycles {
            try? FileSystem.removeTree(path)
            let threads = Int.random(in: 1...3, using: &loop.rng)
            let runSeed = Int.random(in: 0..<1_000_000, using: &loop.rng)
            let delayMicros = UInt32.random(in: 50_000...400_000, using: &loop.rng)
            let mode = cycle % 2 == 0 ? "sync" : "nosync"
            let acked = try CrashTests().runChild(child, path: path, seed: runSeed, threads: threads, mode: mode,
                                                  killAfterMicros: delayMicros, denyIOUring: false,
                                                  extraArguments: ["keyspaces"])
            guard FileSystem.exists(path + "/CURRENT") else { continue }  // killed before the database existed
            let context = "seed \(seed) cycle \(cycle) (\(mode), \(threads) threads, acked \(acked))"
            let db = try DB(path: path, options: openOptions())
            defer { try? db.close() }
            let names = db.keyspaceNames()
            // The keyspaces are created before the first write; a kill
            // during their creation leaves a prefix of them.
            #expect(Array(Self.names.prefix(names.count)) == names, "\(context): keyspaces \(names)")
            var contents: [String: [[UInt8]: [UInt8]]] = [:]
            for name in names {
                var rows: [[UInt8]: [UInt8]] = [:]
                for row in try db.existingKeyspace(name).scan() { rows[row.key] = row.value }
                contents[name] = rows
            }
            for t in 0..<threads {
                let last = acked[t] ?? -1
                acknowledged += last + 1
                let prefix = Array("t\(t)-".utf8)
                // Whether the batch in flight at the kill took effect, per keyspace.
                let inFlightKey = CrashOracle.key(t, last + 1)
                let applied = names.map { contents[$0]?[inFlightKey] != nil }
                #expect(Set(applied).count <= 1, "\(context): thread \(t)'s batch \(last + 1) is in \(applied)")
                let tookEffect = applied.first ?? false
                if tookEffect { inFlightApplied += 1 } else { inFlightNone += 1 }
                let expected = Self.expected(thread: t, last: tookEffect ? last + 1 : last, seed: runSeed)
                for name in names {
                    let held = (contents[name] ?? [:]).filter { $0.key.starts(with: prefix) }
                    let same = held == expected
                    let missing = expected.keys.filter { held[$0] == nil }.count
                    let extra = held.keys.filter { expected[$0] == nil }.count
                    #expect(same, "\(context): keyspace \(name), thread \(t): \(held.count) keys, expected \(expected.count); missing \(missing), extra \(extra)")
                }
            }
            // Nothing but crashwriter's keys.
            for name in names {
                let stray = (contents[name] ?? [:]).keys.filter { key in
                    !(0..<threads).contains { key.starts(with: Array("t\($0)-".utf8)) }
                }
                #expect(stray.isEmpty, "\(context): keyspace \(name) holds \(stray.count) keys no thread wrote")
            }
        }
        print("keyspace crash cycles \(Self.cycles), seed \(seed): \(acknowledged) batches acknowledged; "
              + "in flight at the kill: \(inFlightApplied) took effect, \(inFlightNone) did not")
        #expect(acknowledged > 0, "seed \(seed): the child never acknowledged a batch")
    }
}
