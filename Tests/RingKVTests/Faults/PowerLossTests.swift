import Glibc
import RingIO
import Testing
@testable import RingKV

/// Simulated power loss ("drop unsynced data", docs/ARCHITECTURE.md
/// §Failures): the engine runs its real code path against a
/// `FaultInjectingBackend` that tracks what was synced; the database is
/// abandoned without a clean close, every byte that was not synced is
/// dropped (optionally tearing the first unsynced page), and the reopened
/// database must hold exactly the state after some prefix of the
/// acknowledged batches — a prefix that includes every batch acknowledged
/// with `sync: true` (and everything written before it, which that
/// fdatasync covered) and every batch before a returned `flush()`.
@Suite struct PowerLossTests {
    typealias State = [String: String]
    typealias Step = [(key: String, value: String?)]

    static func options(_ plan: FaultPlan?, paranoid: Bool = true) -> Options {
        // Small memtable and level targets: memtable switches, flushes and
        // compactions happen within a round.
        var o = openOptions(memtableBytes: 16 << 10)
        o.faultPlan = plan
        o.paranoidChecks = paranoid
        o.l0CompactionTrigger = 3
        o.targetFileSizeBytes = 32 << 10
        o.l1TargetSizeBytes = 96 << 10
        o.levelSizeMultiplier = 4
        return o
    }

    static func apply(_ step: Step, to state: inout State) {
        for op in step { state[op.key] = op.value }
    }

    /// Everything the database holds, by scan.
    static func contents(_ db: DB) throws -> State {
        var state: State = [:]
        for row in try db.scan() {
            state[String(decoding: row.key, as: UTF8.self)] = String(decoding: row.value, as: UTF8.self)
        }
        return state
    }

    /// Reopens after the crash. A garbage-torn WAL page may make the strict
    /// open refuse (a complete-looking record followed by garbage cannot be
    /// told from damage in the middle of the log); it must then say so as
    /// corruption of the log, and a non-paranoid open keeps the valid prefix.
    static func reopen(_ path: String, tear: DurabilityTracker.Tear, context: String) throws -> State {
        do {
            let db = try DB(path: path, options: options(nil))
            defer { try? db.close() }
            return try contents(db)
        } catch let error as DBError {
            guard tear == .garbage, case .corruption(let file, _, _) = error, file.hasSuffix(".log") else {
                Issue.record("\(context): reopen failed: \(error)")
                throw error
            }
            let db = try DB(path: path, options: options(nil, paranoid: false))
            defer { try? db.close() }
            return try contents(db)
        }
    }

    /// Describes how `state` differs from `expected`, for failure messages.
    static func difference(_ state: State, _ expected: State) -> String {
        let keys = Set(state.keys).union(expected.keys).sorted()
        let lines = keys.filter { state[$0] != expected[$0] }.prefix(5).map {
            "\($0): got \(state[$0].map { String($0.prefix(24)) } ?? "nil"), "
                + "expected \(expected[$0].map { String($0.prefix(24)) } ?? "nil")"
        }
        return lines.joined(separator: "; ")
    }

    @Test func afterAPowerLossTheDatabaseHoldsAPrefixWithEverySyncedWrite() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let rounds = Int(getenv("RINGKV_POWERLOSS_ROUNDS").map { String(cString: $0) } ?? "") ?? 40
        let dir = try TempDir()
        let path = dir.sub("db")
        let tears: [DurabilityTracker.Tear] = [.none, .prefix, .garbage]
        var baseline: State = [:]
        var counter = 0
        var droppedBytes: UInt64 = 0
        var removedFiles = 0
        var lostSteps = 0
        for round in 0..<rounds {
            let context = "seed \(seed) round \(round)"
            let plan = FaultPlan()
            if round % 2 == 1 {
                // A slow disk for tables: flushes lag behind, so the crash
                // often finds an immutable memtable whose log is not synced.
                plan.add(.init(kind: .fsync, nth: 1, delayMillis: 15, sticky: true, pathContains: ".sst"))
            }
            let db = try DB(path: path, options: Self.options(plan))
            var steps: [Step] = []
            var durableSteps = 0
            let stepCount = Int.random(in: 20...220, using: &rng)
            for _ in 0..<stepCount {
                var batch = WriteBatch()
                var step: Step = []
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let key = "k\(Int.random(in: 0..<48, using: &rng))"
                    if Int.random(in: 0..<5, using: &rng) == 0 {
                        batch.delete(key)
                        step.append((key, nil))
                    } else {
                        counter += 1
                        let value = "v\(counter)-" + String(repeating: "x", count: Int.random(in: 0...300, using: &rng))
                        batch.put(key, value)
                        step.append((key, value))
                    }
                }
                let sync = Int.random(in: 0..<4, using: &rng) == 0
                try db.write(batch, options: WriteOptions(sync: sync))
                steps.append(step)
                if sync { durableSteps = steps.count }
                if Int.random(in: 0..<60, using: &rng) == 0 {
                    // A returned flush made the memtable durable in a table.
                    try db.flush()
                    durableSteps = steps.count
                }
            }
            db.impl.abandonForCrashTest()
            let tear = tears[round % tears.count]
            let report = try plan.simulateCrash(tear: tear, seed: rng.next())
            droppedBytes += report.cut.reduce(0) { $0 + $1.droppedBytes }
            removedFiles += report.removed.count

            let state = try Self.reopen(path, tear: tear, context: context)
            // The state must be baseline + steps[0..<p] for some p in
            // durableSteps...steps.count.
            var candidate = baseline
            for step in steps[0..<durableSteps] { Self.apply(step, to: &candidate) }
            let durableState = candidate
            var matched: Int? = candidate == state ? durableSteps : nil
            var p = durableSteps
            while matched == nil && p < steps.count {
                Self.apply(steps[p], to: &candidate)
                p += 1
                if candidate == state { matched = p }
            }
            #expect(matched != nil,
                    """
                    \(context) (\(tear)): the reopened database is not the state after any prefix of \
                    \(steps.count) acknowledged batches that includes the \(durableSteps) durable ones; \
                    against the durable prefix: \(Self.difference(state, durableState)); crash: \(report)
                    """)
            if matched == nil { return }
            lostSteps += steps.count - (matched ?? steps.count)
            baseline = state
        }
        // The simulation must actually have dropped something, or it tested
        // nothing.
        #expect(droppedBytes > 0 || removedFiles > 0, "seed \(seed): no crash dropped anything")
        #expect(lostSteps > 0, "seed \(seed): no unsynced batch was ever lost")
    }
}
