import Glibc
import RingIO
import Testing
@testable import RingKV

/// The kill -9 loop for merges: crashwriter in `merges` mode merges
/// counters (and now and then deletes one and merges into nothing, in one
/// batch) from several threads with a tiny memtable, so operands sit in
/// the WAL, the memtable and many tables when it is SIGKILLed. After every
/// reopen each counter is exactly what the acknowledged operations make
/// it, plus at most the one in flight per thread — merges replayed from
/// the WAL once, none lost, none doubled. Cycles: RINGKV_MERGE_CRASH_CYCLES
/// (default 12); RINGKV_SEED replays a run.
@Suite struct MergeCrashTests {
    static var cycles: Int { KillNineLoop.cycles("RINGKV_MERGE_CRASH_CYCLES", default: 12) }

    @Test func everyAcknowledgedMergeSurvivesKillNineExactlyOnce() throws {
        var loop = try KillNineLoop("MergeCrashTests")
        let (seed, path, child) = (loop.seed, loop.path, loop.child)
        var options = openOptions()
        options.mergeOperator = CounterMerge()
        var acknowledged = 0, inFlightApplied = 0
        for cycle in 0..<Self.cycles {
            // Every other cycle goes on with the database of the one before
            // (operands of earlier lives below the new ones).
            if cycle % 2 == 0 { try? FileSystem.removeTree(path) }
            let before: [[Int64?]]
            if FileSystem.exists(path + "/CURRENT") {
                let db = try DB(path: path, options: options)
                before = try (0..<3).map { t in
                    try (0..<4).map { c in CounterMerge.value(try db.get(Array("t\(t)-c\(c)".utf8))) }
                }
                try db.close()
            } else {
                before = Array(repeating: Array(repeating: nil, count: 4), count: 3)
            }
            let threads = Int.random(in: 1...3, using: &loop.rng)
            let delayMicros = UInt32.random(in: 50_000...400_000, using: &loop.rng)
            let mode = cycle % 4 < 2 ? "nosync" : "sync"
            let acked = try CrashTests().runChild(child, path: path, seed: cycle, threads: threads, mode: mode,
                                                  killAfterMicros: delayMicros, denyIOUring: false,
                                                  extraArguments: ["merges"])
            guard FileSystem.exists(path + "/CURRENT") else { continue }
            let context = "seed \(seed) cycle \(cycle) (\(mode), \(threads) threads, acked \(acked))"
            let db = try DB(path: path, options: options)
            defer { try? db.close() }
            for t in 0..<threads {
                let last = acked[t] ?? -1
                acknowledged += last + 1
                let got = try (0..<4).map { c in CounterMerge.value(try db.get(Array("t\(t)-c\(c)".utf8))) }
                func combined(_ last: Int) -> [Int64?] {
                    // The new run's operations on top of the counters it found.
                    var counters = before[t]
                    guard last >= 0 else { return counters }
                    for op in 0...last {
                        let c = op % 4
                        counters[c] = op % 10 == 9 ? Int64(op + 1) : (counters[c] ?? 0) + Int64(op + 1)
                    }
                    return counters
                }
                let acknowledgedOnly = combined(last), withInFlight = combined(last + 1)
                #expect(got == acknowledgedOnly || got == withInFlight,
                        "\(context): thread \(t) counters \(got), expected \(acknowledgedOnly) or \(withInFlight)")
                if got == withInFlight && got != acknowledgedOnly { inFlightApplied += 1 }
            }
        }
        print("merge crash cycles \(Self.cycles), seed \(seed): \(acknowledged) merges acknowledged, "
              + "\(inFlightApplied) in flight took effect")
        #expect(acknowledged > 0, "seed \(seed): the child never acknowledged a merge")
    }
}
