import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Simulated power loss over the engine's whole lifecycle
/// (docs/ARCHITECTURE.md §Failures). Each round opens the database (with
/// `createIfMissing` only until it first exists; the recovery options are
/// the defaults), checks what it holds, writes, switches memtables,
/// flushes and compacts — and at a random moment the power goes: from the
/// Nth disk-changing operation on (in the open's MANIFEST rewrite, a WAL
/// group, a flush, a compaction, a file deletion...) nothing reaches the
/// disk any more (`FaultPlan.cutPower`). The database is abandoned, and
/// `simulateCrash` keeps any subset of the unsynced pages of every file
/// (some torn or scrambled) and undoes any subset of the directory changes
/// no directory fsync covered.
///
/// The next round's open must succeed with the default options and hold
/// exactly the state after some prefix of the batches written since the
/// last check — a prefix that includes every batch acknowledged with
/// `sync: true` (and all before it) and every batch before a returned
/// `flush()` (of any keyspace, empty ones too) or `compactRange()` or
/// an empty synced write. Batches put, delete and delete ranges.
///
/// Batches also write to other keyspaces ("a", "b", "c"), which rounds
/// create and drop now and then: a returned create or drop is durable,
/// with every batch before it. In the model a keyspace's keys are
/// "NAME/key" and its existence the entry "#NAME". "c" has a ttl (ten
/// years: nothing expires), so its values carry write times through the
/// log, replay, flush and compaction; it takes no merges or ingests.
///
/// Now and then a round takes a checkpoint: if the call returned, the
/// checkpoint directory, opened after the power cut, holds exactly the
/// state when it was called. And now and then a round starts with a
/// read-only open of what the crash left: it changes nothing in the
/// directory and sees the state the writing open then recovers. And now
/// and then a round ingests a table file: all of it or none, durable once
/// the call returned.
@Suite struct PowerLossTests {
    typealias State = [String: String]
    static let ttlKeyspace = "c"
    enum Op {
        case put(String, String)
        case delete(String)
        /// Keys `from <= k < to`, byte order.
        case deleteRange(from: String, to: String)
        case createKeyspace(String)
        case dropKeyspace(String)
        /// A merge operand for `AppendMerge` (issue 24).
        case merge(String, String)
    }

    /// Appends operands with "+": order-sensitive, so a lost, doubled or
    /// reordered operand shows; associative, so flush and compaction fold
    /// runs with `partialMerge`.
    struct AppendMerge: MergeOperator {
        var name: String { "AppendMerge" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws -> [UInt8] {
            operands.reduce(existing ?? []) { $0 + Array("+".utf8) + $1 }
        }
        func partialMerge(key: [UInt8], operands: [[UInt8]]) -> [UInt8]? {
            Array(operands.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "+").utf8)
        }
    }
    typealias Step = [Op]

    static func options(_ plan: FaultPlan?) -> Options {
        // Small memtable and level targets: memtable switches, flushes and
        // compactions happen within a round. Recovery options
        // (paranoidChecks) stay at their defaults.
        var o = Options()
        o.memtableSizeBytes = 16 << 10
        o.walPreallocateBytes = 1 << 20
        o.faultPlan = plan
        o.mergeOperator = AppendMerge()
        o.l0CompactionTrigger = 3
        o.targetFileSizeBytes = 32 << 10
        o.l1TargetSizeBytes = 96 << 10
        o.levelSizeMultiplier = 4
        return o
    }

    static func apply(_ step: Step, to state: inout State) {
        for op in step {
            switch op {
            case .put(let key, let value):
                state[key] = value
            case .delete(let key):
                state[key] = nil
            case .deleteRange(let from, let to):
                for key in state.keys where !key.utf8.lexicographicallyPrecedes(from.utf8)
                    && key.utf8.lexicographicallyPrecedes(to.utf8) {
                    state[key] = nil
                }
            case .merge(let key, let operand):
                state[key] = (state[key] ?? "") + "+" + operand
            case .createKeyspace(let name):
                state["#" + name] = ""
            case .dropKeyspace(let name):
                for key in state.keys where key == "#" + name || key.hasPrefix(name + "/") { state[key] = nil }
            }
        }
    }

    /// Names and contents of every file under `path` (subdirectories too).
    static func files(_ path: String) throws -> [String: [UInt8]] {
        try ReadOnlyOpenTests.snapshot(path)
    }

    /// Everything the database holds, by scan: the default keyspace's
    /// keys as they are, another keyspace's as "NAME/key" plus "#NAME".
    static func contents(_ db: DB) throws -> State {
        var state: State = [:]
        for name in db.keyspaceNames() {
            let prefix = name == "default" ? "" : name + "/"
            if name != "default" { state["#" + name] = "" }
            for row in try db.existingKeyspace(name).scan() {
                state[prefix + String(decoding: row.key, as: UTF8.self)] = String(decoding: row.value, as: UTF8.self)
            }
        }
        return state
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

    /// The history since the last check: the state then, the batches
    /// written since (acknowledged, plus a last one that failed and may or
    /// may not be durable), and how many of them must be there.
    struct History {
        var baseline: State = [:]
        var steps: [Step] = []
        var durableSteps = 0
        /// What made the last durable batch durable (for failure messages).
        var durableBy = "nothing yet"

        /// Every batch so far is durable, made so by `cause`.
        mutating func markDurable(by cause: String) {
            durableSteps = steps.count
            durableBy = "batch \(steps.count) by \(cause)"
        }

        /// The prefix length `state` matches, if any in durableSteps...steps.count.
        func matchingPrefix(_ state: State) -> Int? {
            var candidate = baseline
            for step in steps[0..<durableSteps] { PowerLossTests.apply(step, to: &candidate) }
            if candidate == state { return durableSteps }
            for p in durableSteps..<steps.count {
                PowerLossTests.apply(steps[p], to: &candidate)
                if candidate == state { return p + 1 }
            }
            return nil
        }

        var durableState: State {
            var state = baseline
            for step in steps[0..<durableSteps] { PowerLossTests.apply(step, to: &state) }
            return state
        }

        /// The state after every batch so far (all acknowledged).
        var latestState: State {
            var state = baseline
            for step in steps { PowerLossTests.apply(step, to: &state) }
            return state
        }
    }

    /// A checkpoint whose call returned, and the state it must hold.
    struct TakenCheckpoint {
        var path: String
        var state: State
        /// A backup (PowerLossBackup.swift): `path` is the backup directory,
        /// restored to a new database before it is checked.
        var backupID: UInt64?
    }

    /// Totals over all rounds, to show the simulation exercised something.
    struct Totals {
        var cutsInOpen = 0, cutsAfterOpen = 0, undoneChanges = 0, damagedBytes: UInt64 = 0
        var lostSteps = 0, recoveryDrops: UInt64 = 0
        var rangeDeletions = 0, merges = 0
        var keyspaceCreates = 0, keyspaceDrops = 0, keyspaceWrites = 0, ttlKeyspaceCreates = 0
        /// Checkpoints that returned (each opened after the cut) and that
        /// the cut failed (nothing left at their path).
        var checkpointsVerified = 0, checkpointsCut = 0
        /// Backups that returned (each restored and checked after the cut).
        var backupsVerified = 0
        var readOnlyOpens = 0
        /// Ingests that returned (PowerLossIngest.swift); transactions that carried merges.
        var ingests = 0, transactionsWithMerges = 0
    }

    @Test func everyRoundOpensWithEverySyncedWriteAndAPrefixOfTheHistory() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let rounds = Int(getenv("RINGKV_POWERLOSS_ROUNDS").map { String(cString: $0) } ?? "") ?? 40
        let dir = try TempDir()
        let path = dir.sub("db")
        var history = History()
        var totals = Totals()
        var created = false
        var counter = 0
        var checkpointCount = 0
        var lastCrash = "none"
        // How many disk-changing operations the last clean open and the last
        // round took: where the cuts are aimed.
        var openSteps = 20, roundSteps = 300
        for round in 0...rounds {
            let context = "seed \(seed) round \(round)"
            let plan = FaultPlan()
            if round % 2 == 1 {
                // A slow disk for tables: flushes lag behind, so the cut often
                // finds an immutable memtable whose log is not synced.
                plan.add(.init(kind: .fsync, nth: 1, delayMillis: 15, sticky: true, pathContains: ".sst"))
            }
            // The last round only checks. Otherwise the power goes at a random
            // disk-changing operation of this round two times in three (the
            // open included), and after its last write the third time.
            // (A third of the cuts fall among the open's own operations — its
            // tables, WAL, MANIFEST, CURRENT and sweep — the rest anywhere in
            // a round as long as the last one.)
            if round < rounds && Int.random(in: 0..<3, using: &rng) > 0 {
                let inOpen = Int.random(in: 0..<3, using: &rng) == 0
                plan.cutPower(afterMutations: Int.random(in: 0...(inOpen ? openSteps : roundSteps), using: &rng))
            }
            var options = Self.options(round < rounds ? plan : nil)
            options.createIfMissing = !created
            // Tables written through the page cache (the default) in half
            // the rounds, with O_DIRECT in the other half.
            options.directTableWrites = round % 4 >= 2
            // A third of the rounds first open what the crash left read-only.
            var readOnlyState: State?
            if created && Int.random(in: 0..<3, using: &rng) == 0 {
                do {
                    readOnlyState = try readOnlyOpen(path, context: context)
                    totals.readOnlyOpens += 1
                } catch {
                    Issue.record("\(context): read-only open failed: \(error); last crash: \(lastCrash)")
                    return
                }
            }
            let db: DB
            do {
                db = try DB(path: path, options: options)
            } catch {
                // Only the power cut may fail an open; the next round opens
                // what the crash left.
                guard plan.isPowerCut else {
                    Issue.record("\(context): open failed: \(error); last crash: \(lastCrash)")
                    return
                }
                totals.cutsInOpen += 1
                lastCrash = try crash(plan, round: round, rng: &rng, totals: &totals)
                continue
            }
            created = true
            if !plan.isPowerCut { openSteps = max(plan.mutationCount, 1) }
            let recovery = db.impl.recovery
            totals.recoveryDrops += UInt64(recovery.drops.count)
            let state = try Self.contents(db)
            guard let matched = history.matchingPrefix(state) else {
                Issue.record("""
                    \(context): the reopened database is not the state after any prefix of \
                    \(history.steps.count) batches that includes the \(history.durableSteps) durable ones \
                    (the last made durable: \(history.durableBy)); \
                    against the durable prefix: \(Self.difference(state, history.durableState)); \
                    last crash: \(lastCrash); recovery: \(recovery.lines)
                    """)
                return
            }
            totals.lostSteps += history.steps.count - matched
            if let readOnlyState, readOnlyState != state {
                Issue.record("""
                    \(context): the read-only open saw another state than the writing open recovered: \
                    \(Self.difference(readOnlyState, state)); last crash: \(lastCrash)
                    """)
                return
            }
            history = History(baseline: state)
            if round == rounds {
                try db.close()
                break
            }
            var taken: [TakenCheckpoint] = []
            try write(db, plan: plan, history: &history, counter: &counter, rng: &rng,
                      nextCheckpointPath: {
                          checkpointCount += 1
                          return dir.sub("cp\(checkpointCount)")
                      }, taken: &taken, totals: &totals)
            if plan.isPowerCut { totals.cutsAfterOpen += 1 } else { roundSteps = max(plan.mutationCount, 1) }
            db.impl.abandonForCrashTest()
            lastCrash = try crash(plan, round: round, rng: &rng, totals: &totals)
            // Every checkpoint whose call returned survived the power cut
            // whole: it opens, with the defaults, as the state at its call.
            for checkpoint in taken {
                let copy: DB
                var openedPath = checkpoint.path
                do {
                    var defaults = Options()
                    defaults.mergeOperator = AppendMerge()  // the checkpoint holds operands
                    openedPath = try Self.restoredPath(of: checkpoint)
                    copy = try DB(path: openedPath, options: defaults)
                } catch {
                    Issue.record("\(context): checkpoint \(checkpoint.path) does not open: \(error); \(lastCrash)")
                    return
                }
                let held = try Self.contents(copy)
                try copy.close()
                guard held == checkpoint.state else {
                    Issue.record("""
                        \(context): checkpoint \(checkpoint.path) is not the state at its call: \
                        \(Self.difference(held, checkpoint.state)); last crash: \(lastCrash)
                        """)
                    return
                }
                if checkpoint.backupID == nil {
                    totals.checkpointsVerified += 1
                    try FileSystem.removeTree(checkpoint.path)
                } else {
                    totals.backupsVerified += 1
                    try FileSystem.removeTree(openedPath)
                }
            }
        }
        // The simulation must actually have cut, dropped and undone things,
        // or it tested nothing (checked only for runs long enough to be sure).
        print("power loss totals: \(totals)")
        if rounds >= 30 {
            #expect(totals.cutsInOpen > 0 && totals.cutsAfterOpen > 0, "seed \(seed): \(totals)")
            #expect(totals.undoneChanges > 0 && totals.damagedBytes > 0, "seed \(seed): \(totals)")
            #expect(totals.lostSteps > 0 && totals.recoveryDrops > 0, "seed \(seed): \(totals)")
            #expect(totals.rangeDeletions > 0 && totals.merges > 0 && totals.checkpointsVerified > 0 && totals.readOnlyOpens > 0,
                    "seed \(seed): \(totals)")
            #expect(totals.keyspaceCreates > 0 && totals.keyspaceDrops > 0 && totals.keyspaceWrites > 0
                    && totals.ttlKeyspaceCreates > 0, "seed \(seed): \(totals)")
            #expect(totals.backupsVerified > 0, "seed \(seed): \(totals)")
            #expect(totals.ingests > 0 && totals.transactionsWithMerges > 0, "seed \(seed): \(totals)")
        }
    }

    /// Opens `path` read-only (no power cut: only counting what it would
    /// change) and returns what it holds; the directory must be exactly as
    /// before, byte for byte.
    func readOnlyOpen(_ path: String, context: String) throws -> State {
        let before = try Self.files(path)
        let counter = FaultPlan()
        var options = Self.options(counter)
        options.readOnly = true
        let db = try DB(path: path, options: options)
        let state = try Self.contents(db)
        try db.close()
        #expect(counter.mutationCount == 0, "\(context): the read-only open changed the disk")
        let changed = ReadOnlyLockTests.changedFiles(before, try Self.files(path))
        #expect(changed.isEmpty, "\(context): the read-only open changed \(changed)")
        return state
    }

    /// One round's work: random puts, deletes, range deletions and
    /// batches, a quarter of them synced, now and then a flush, a full
    /// compaction or a checkpoint (to the path `nextCheckpointPath` names;
    /// those that returned go to `taken`). Stops at the first failure,
    /// which only the power cut may cause; the failed batch may or may not
    /// be durable.
    func write(_ db: DB, plan: FaultPlan, history: inout History, counter: inout Int, rng: inout SeededRandom,
               nextCheckpointPath: () -> String, taken: inout [TakenCheckpoint], totals: inout Totals) throws {
        for _ in 0..<Int.random(in: 20...220, using: &rng) {
            if Int.random(in: 0..<40, using: &rng) == 0 {
                // An empty synced write (a batch without operations or a
                // transaction with nothing to write) makes every earlier
                // batch durable.
                let asTransaction = Bool.random(using: &rng)
                history.steps.append([])
                do {
                    if asTransaction {
                        try db.beginTransaction(options: WriteOptions(sync: true)).commit()
                    } else {
                        try db.write(WriteBatch(), options: WriteOptions(sync: true))
                    }
                    history.markDurable(by: asTransaction ? "an empty synced transaction" : "an empty synced batch")
                } catch {
                    #expect(plan.isPowerCut, "an empty synced write failed without a power cut: \(error)")
                    return
                }
                continue
            }
            var batch = WriteBatch()
            var step: Step = []
            // One batch in three commits as a transaction of the same
            // operations instead (issue 24), merges included: same
            // atomicity and durability.
            var txnOps: [(Keyspace, String, String?, String?, Bool)] = []  // (keyspace, key, value, rangeEnd, merge)
            var hasMerge = false
            let live = db.keyspaceNames()
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                // Two operations in three go to the default keyspace.
                let name = Int.random(in: 0..<3, using: &rng) == 0 ? live.randomElement(using: &rng)! : "default"
                let keyspace = try db.existingKeyspace(name)
                let prefix = name == "default" ? "" : name + "/"
                if name != "default" { totals.keyspaceWrites += 1 }
                let key = "k\(Int.random(in: 0..<48, using: &rng))"
                switch Int.random(in: 0..<20, using: &rng) {
                case 0..<4:
                    batch.delete(key, in: keyspace)
                    txnOps.append((keyspace, key, nil, nil, false))
                    step.append(.delete(prefix + key))
                case 4:
                    // A range of a few keys ("k1" < "k10" < "k2": byte order).
                    let other = "k\(Int.random(in: 0..<48, using: &rng))"
                    let (from, to) = key.utf8.lexicographicallyPrecedes(other.utf8) ? (key, other) : (other, key)
                    batch.deleteRange(from: from, to: to, in: keyspace)
                    txnOps.append((keyspace, from, nil, to, false))
                    step.append(.deleteRange(from: prefix + from, to: prefix + to))
                    totals.rangeDeletions += 1
                case 5..<8 where name != Self.ttlKeyspace:
                    counter += 1
                    let operand = "m\(counter)"
                    batch.merge(key, operand, in: keyspace)
                    txnOps.append((keyspace, key, operand, nil, true))
                    hasMerge = true
                    step.append(.merge(prefix + key, operand))
                    totals.merges += 1
                default:
                    counter += 1
                    let value = "v\(counter)-" + String(repeating: "x", count: Int.random(in: 0...300, using: &rng))
                    batch.put(key, value, in: keyspace)
                    txnOps.append((keyspace, key, value, nil, false))
                    step.append(.put(prefix + key, value))
                }
            }
            let sync = Int.random(in: 0..<4, using: &rng) == 0
            history.steps.append(step)
            do {
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    let txn = db.beginTransaction(options: WriteOptions(sync: sync))
                    for (keyspace, key, value, rangeEnd, isMerge) in txnOps {
                        if isMerge, let value {
                            try txn.merge(key, value, in: keyspace)
                        } else if let rangeEnd {
                            if key != rangeEnd { try txn.deleteRange(from: Array(key.utf8), to: Array(rangeEnd.utf8), in: keyspace) }
                        } else if let value {
                            try txn.put(key, value, in: keyspace)
                        } else {
                            try txn.delete(key, in: keyspace)
                        }
                    }
                    try txn.commit()
                    if hasMerge { totals.transactionsWithMerges += 1 }
                } else {
                    try db.write(batch, options: WriteOptions(sync: sync))
                }
            } catch {
                #expect(plan.isPowerCut, "a write failed without a power cut: \(error)")
                return
            }
            if sync { history.markDurable(by: "a synced write") }
            let maintenance = Int.random(in: 0..<120, using: &rng)
            if maintenance == 3 {
                // The checkpoint holds every batch so far; it does not make
                // them durable in the source.
                let state = history.latestState
                let target = nextCheckpointPath()
                do {
                    try db.checkpoint(to: target)
                    taken.append(TakenCheckpoint(path: target, state: state))
                } catch {
                    #expect(plan.isPowerCut, "a checkpoint failed without a power cut: \(error)")
                    #expect(!FileSystem.exists(target), "a failed checkpoint left \(target)")
                    totals.checkpointsCut += 1
                    return
                }
            }
            if maintenance == 4 || maintenance == 5 {
                // A keyspace created or dropped: durable when the call
                // returns, with every batch before it.
                let others = Set(live).subtracting(["default"])
                let create = others.count < 2 || (others.count < 3 && maintenance == 4)
                let name = create ? ["a", "b", "c"].filter { !others.contains($0) }.randomElement(using: &rng)!
                    : others.sorted().randomElement(using: &rng)!
                history.steps.append([create ? .createKeyspace(name) : .dropKeyspace(name)])
                do {
                    if create {
                        let ttl: Duration? = name == Self.ttlKeyspace ? .seconds(10 * 365 * 86_400) : nil
                        _ = try db.keyspace(name, options: KeyspaceOptions(ttl: ttl))
                        if ttl != nil { totals.ttlKeyspaceCreates += 1 }
                    } else {
                        try db.dropKeyspace(name)
                    }
                    history.markDurable(by: create ? "a keyspace create" : "a keyspace drop")
                    if create { totals.keyspaceCreates += 1 } else { totals.keyspaceDrops += 1 }
                } catch {
                    #expect(plan.isPowerCut, "a keyspace \(create ? "create" : "drop") failed without a power cut: \(error)")
                    return
                }
            }
            if maintenance == 8 {
                // An incremental backup into one directory kept across
                // rounds: it holds every batch so far (PowerLossBackup.swift).
                guard backup(db, to: FileSystem.parentDirectory(of: db.impl.path) + "/backups", plan: plan, history: history,
                             taken: &taken) else { return }
            }
            if maintenance == 6 || maintenance == 7 {
                // An ingest: atomic, durable when it returns, with every
                // batch before it (PowerLossIngest.swift).
                guard ingest(db, live: live, plan: plan, history: &history, counter: &counter, rng: &rng,
                             sourcePath: nextCheckpointPath() + ".sst", totals: &totals) else { return }
            }
            if maintenance < 3 {
                do {
                    // A returned flush or compaction made every earlier batch durable.
                    // A flush of one keyspace makes the others' batches
                    // durable too, also when its own memtable is empty.
                    let flushed = live.randomElement(using: &rng) ?? "default"
                    switch maintenance {
                    case 0: try db.compactRange()
                    case 1: try db.flush()
                    default: try db.existingKeyspace(flushed).flush()
                    }
                    history.markDurable(by: ["compactRange()", "flush()", "a flush of \(flushed)"][maintenance])
                } catch {
                    #expect(plan.isPowerCut, "maintenance failed without a power cut: \(error)")
                    return
                }
            }
        }
        // One round in three ends with a flush of one keyspace (often an
        // empty one): the power then goes with nothing synced after it.
        guard Int.random(in: 0..<3, using: &rng) == 0, let last = db.keyspaceNames().randomElement(using: &rng) else {
            return
        }
        do {
            try db.existingKeyspace(last).flush()
            history.markDurable(by: "the round's last flush, of \(last)")
        } catch {
            #expect(plan.isPowerCut, "a flush failed without a power cut: \(error)")
        }
    }

    /// Simulates the power loss: a random page model and directory policy.
    func crash(_ plan: FaultPlan, round: Int, rng: inout SeededRandom, totals: inout Totals) throws -> String {
        let tears: [DurabilityTracker.Tear] = [.pages, .pages, .pages, .none, .prefix, .garbage]
        let tear = tears[Int.random(in: 0..<tears.count, using: &rng)]
        let policies: [DurabilityTracker.DirectoryPolicy] = [.random, .random, .undoAll, .keepAll]
        let policy = policies[Int.random(in: 0..<policies.count, using: &rng)]
        let report = try plan.simulateCrash(tear: tear, directories: policy, seed: rng.next())
        totals.undoneChanges += report.undone.count
        totals.damagedBytes += report.droppedBytes
        return "round \(round), \(tear): \(report)"
    }
}
