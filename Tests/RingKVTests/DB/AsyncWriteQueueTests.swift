import Glibc
import Synchronization
import RingIOFaults
import Testing
@testable import RingKV

/// `AsyncWriteQueue` (Write/AsyncWriteQueue.swift) driven against a stand-in
/// committer whose commits wait at a gate: cancellation at every point,
/// the bound, and the order of writes; then against real databases: the
/// outcome of a cancelled write matches what is stored, and steady writes
/// to many databases do not starve another one.
@Suite struct AsyncWriteQueueTests {
    /// While the drain is held in its first commit nothing else can be
    /// taken, so every write cancelled meanwhile must throw
    /// `CancellationError` — wherever the cancellation lands: before the
    /// call checks it, between that check and the queue, or in the queue.
    /// A canceller thread fires right as each writer is about to queue.
    @Test func aCancellationRacingTheQueueIsNeverLost() async throws {
        let seed = testSeed()
        let committer = GatedCommitter()
        let queue = AsyncWriteQueue()
        let first = Task { try await queue.write(Self.batch("first"), sync: false, into: committer) }
        await committer.waitForCommits(started: 1)
        let trials = 400
        var writers: [Task<Void, any Error>] = []
        var rng = SeededRandom(seed: seed)
        for trial in 0..<trials {
            let aboutToQueue = Flag()
            let writer = Task {
                aboutToQueue.set()
                try await queue.write(Self.batch("t\(trial)"), sync: false, into: committer)
            }
            // Spread the landing point over the call: 0 to ~2 µs after the flag.
            let spins = Int(rng.next() % 600)
            let fired = Flag()
            let canceller = BackgroundThread.spawn {
                while !aboutToQueue.isSet { WaitWord.relax() }
                for _ in 0..<spins { WaitWord.relax() }
                writer.cancel()
                fired.set()
            }
            while !fired.isSet { await Task.yield() }
            canceller.join()
            writers.append(writer)
        }
        committer.open()
        try await first.value
        var lost: [Int] = []
        for (trial, writer) in writers.enumerated() {
            do {
                try await writer.value
                lost.append(trial)
            } catch is CancellationError {
            }
        }
        #expect(lost.isEmpty, "seed \(seed): cancelled writes committed and returned success: trials \(lost)")
        #expect(committer.committedKeys == ["first"], "seed \(seed): only the first write is committed")
    }

    /// A queue holding `capacityWrites` writes suspends the next writers
    /// before queuing them; cancelling one of those, or one in the queue,
    /// throws and writes nothing; the rest commit in the order they came.
    @Test func aFullQueueSuspendsWritersAndKeepsTheirOrder() async throws {
        let committer = GatedCommitter()
        let queue = AsyncWriteQueue(capacityWrites: 8, capacityBytes: 1 << 20)
        let first = Task { try await queue.write(Self.batch("w00"), sync: false, into: committer) }
        await committer.waitForCommits(started: 1)
        var writers: [Task<Void, any Error>] = []
        for i in 1...13 {
            let name = i < 10 ? "w0\(i)" : "w\(i)"
            writers.append(Task { try await queue.write(Self.batch(name), sync: false, into: committer) })
            // One at a time, so they arrive in this order.
            while queue.counts.queued + queue.counts.waitingForRoom < i { await Task.yield() }
        }
        #expect(queue.counts.queued == 8, "the queue holds its capacity")
        #expect(queue.counts.waitingForRoom == 5, "the writers past it wait for room")
        writers[10].cancel()  // "w11", waiting for room
        writers[2].cancel()   // "w03", in the queue
        await #expect(throws: CancellationError.self) { try await writers[10].value }
        await #expect(throws: CancellationError.self) { try await writers[2].value }
        // The queued write's place went to the oldest writer waiting for room.
        #expect(queue.counts.queued == 8 && queue.counts.waitingForRoom == 3)
        committer.open()
        try await first.value
        for (i, writer) in writers.enumerated() where i != 10 && i != 2 { try await writer.value }
        let expected = (0...13).filter { $0 != 11 && $0 != 3 }.map { $0 < 10 ? "w0\($0)" : "w\($0)" }
        #expect(committer.committedKeys == expected, "committed in arrival order, the cancelled ones never")
        #expect(queue.counts.queued == 0 && queue.counts.waitingForRoom == 0)
    }

    /// Real database: tasks cancelled at random points either threw
    /// `CancellationError` and their key is absent, or returned and their
    /// key is present — before and after a reopen.
    @Test func aCancelledWriteEitherThrowsAndWroteNothingOrCommitted() async throws {
        let seed = testSeed()
        let dir = try TempDir("ringkv-async-cancel")
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        let count = 1500
        var rng = SeededRandom(seed: seed)
        var writers: [Task<Void, any Error>] = []
        for i in 0..<count {
            let writer = Task {
                try await db.put(bytes("k\(i)"), bytes("v\(i)"), options: WriteOptions(sync: i % 7 == 0))
            }
            writers.append(writer)
            switch rng.next() % 4 {
            case 0: writer.cancel()
            case 1:
                await Task.yield()
                writer.cancel()
            case 2:
                let spins = Int(rng.next() % 2000)
                let fired = Flag()
                let canceller = BackgroundThread.spawn {
                    for _ in 0..<spins { WaitWord.relax() }
                    writer.cancel()
                    fired.set()
                }
                while !fired.isSet { await Task.yield() }
                canceller.join()
            default: break  // not cancelled
            }
        }
        var committed = Set<Int>()
        for (i, writer) in writers.enumerated() {
            do {
                try await writer.value
                committed.insert(i)
            } catch is CancellationError {
            }
        }
        #expect(committed.count > 0 && committed.count < count, "seed \(seed): both outcomes occur")
        for i in 0..<count {
            let stored = try Sync.get(db, bytes("k\(i)"))
            #expect((stored != nil) == committed.contains(i), "seed \(seed): key \(i)")
        }
        try Sync.close(db)
        let reopened = try await DB(path: dir.sub("db"), options: openOptions())
        for i in 0..<count {
            #expect((try Sync.get(reopened, bytes("k\(i)")) != nil) == committed.contains(i), "seed \(seed): key \(i)")
        }
        try Sync.close(reopened)
    }

    /// Commits held up in five queues (a stalled or slow database each)
    /// do not hold up a sixth queue's write: no thread shared by every
    /// database's commits can be used up.
    @Test func commitsHeldUpInFiveQueuesDoNotHoldUpASixth() async throws {
        let held = (0..<5).map { _ in (queue: AsyncWriteQueue(), committer: GatedCommitter()) }
        let heldWrites = held.enumerated().map { i, q in
            Task { try await q.queue.write(Self.batch("held\(i)"), sync: false, into: q.committer) }
        }
        for q in held.prefix(4) { await q.committer.waitForCommits(started: 1) }
        let free = GatedCommitter()
        free.open()
        let sixth = AsyncWriteQueue()
        // Liveness bound, not a speed target: the gates open after it, so a
        // held-up sixth write still returns and the test ends.
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(10))
            for q in held { q.committer.open() }
        }
        try await sixth.write(Self.batch("free"), sync: false, into: free)
        let heldStillHeld = held.allSatisfy { $0.committer.committedKeys.isEmpty }
        for q in held { q.committer.open() }
        watchdog.cancel()
        for write in heldWrites { try await write.value }
        #expect(heldStillHeld, "the sixth queue's write waited for the held-up commits of the other five")
        #expect(free.committedKeys == ["free"])
    }

    /// Five real databases whose WAL fsyncs are held (a stuck disk) each
    /// hold a synced async write in its commit; a sixth database's async
    /// write and scan finish while those five are still held. The fsyncs
    /// wait on a gate the test opens after the sixth's calls (or a 120 s
    /// watchdog, so a held-up sixth still ends the test, failing it): no
    /// race against a clock, however loaded the machine.
    @Test func slowCommitsOfFiveDatabasesDoNotHoldUpASixth() async throws {
        let dir = try TempDir("ringkv-async-starve")
        let plans = (0..<5).map { _ in FaultPlan() }
        let busy = try plans.enumerated().map { i, plan in
            var options = openOptions()
            options.faultPlan = plan
            return try DB(path: dir.sub("busy\(i)"), options: options)
        }
        let probe = try await DB(path: dir.sub("probe"), options: openOptions())
        try Sync.put(probe, bytes("a"), bytes("1"))
        let gate = TestCounter()  // open once non-zero
        for plan in plans {
            plan.add(FaultPlan.Rule(kind: .fsync, sticky: true, pathContains: ".log") {
                let start = ContinuousClock.now
                while gate.value == 0, ContinuousClock.now - start < .seconds(120) { usleep(1000) }
            })
        }
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(120))
            gate.add(1)
        }
        let busyDone = TestCounter()
        let busyWrites = busy.map { db in
            Task {
                try await db.put(bytes("slow"), bytes("x"), options: WriteOptions(sync: true))
                busyDone.add(1)
            }
        }
        // At least four of them are inside their slow fsync.
        while plans.reduce(0, { $0 + $1.injectedCount }) < 4 { try await Task.sleep(for: .milliseconds(2)) }
        try await probe.put(bytes("b"), bytes("2"))
        var rows = 0
        for try await _ in probe.entries() { rows += 1 }
        let finishedFirst = busyDone.value == 0
        gate.add(1)
        watchdog.cancel()
        for write in busyWrites { try await write.value }
        #expect(finishedFirst, "the sixth database's write and scan waited for the slow commits of the others")
        #expect(rows == 2)
        for plan in plans { plan.reset() }
        for db in busy { try Sync.close(db) }
        try Sync.close(probe)
    }

    static func batch(_ key: String) -> WriteBatch {
        var batch = WriteBatch()
        batch.put(bytes(key), bytes("v"))
        return batch
    }
}

/// A committer whose commits wait while its gate is closed; it records
/// the keys it committed, in order.
final class GatedCommitter: MergedBatchCommitter {
    private struct State {
        var open = false
        var started = 0
        var keys: [String] = []
    }

    private let state = Locked(State())
    private let changed = Monitor()

    func commitMerged(_ batch: WriteBatch, sync: Bool) throws {
        changed.withLock {
            state.withLock { $0.started += 1 }
            changed.broadcast()
            while !state.withLock({ $0.open }) { changed.wait() }
        }
        var keys: [String] = []
        try batch.rep.withUnsafeBytes { rep in
            try WriteBatch.forEach(rep) { _, _, key, _ in keys.append(String(decoding: key, as: UTF8.self)) }
        }
        state.withLock { $0.keys += keys }
    }

    /// Returns once `started` commits began.
    func waitForCommits(started: Int) async {
        while state.withLock({ $0.started }) < started { await Task.yield() }
    }

    func open() {
        changed.withLock {
            state.withLock { $0.open = true }
            changed.broadcast()
        }
    }

    var committedKeys: [String] { state.withLock { $0.keys } }
}

/// A flag set once, read from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// A count shared by tasks.
final class TestCounter: Sendable {
    private let count = Atomic<Int>(0)
    func add(_ n: Int) { count.add(n, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
