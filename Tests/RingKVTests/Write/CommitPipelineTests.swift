import Glibc
import Testing
@testable import RingKV

/// The commit pipeline alone (CommitPipeline.swift), driven against a fake
/// log and memtable (`FakeCommitEnvironment`): which writers form a group,
/// in which order groups are written and numbered, who leads, how a
/// gathering leader is taken over, and that a failure reaches every member
/// of its group. Each test holds the first group inside its log write
/// (`FakeCommitEnvironment.hold`) while the next writers queue, so the
/// groups it checks are formed from a known queue, not from timing.
@Suite struct CommitPipelineTests {
    @Test func groupsAreWrittenInQueueOrderWithContiguousSequences() throws {
        let h = PipelineHarness()
        h.holdFirstGroup("A")
        h.start("B")
        h.waitUntilQueued(1)
        h.start("C", operations: 3)
        h.waitUntilQueued(2)
        h.start("D")
        h.waitUntilQueued(3)
        h.env.release()
        h.joinAll()
        #expect(h.failures.isEmpty, "\(h.failures)")
        #expect(h.env.groupLabels == [["A"], ["B", "C", "D"]])
        // Sequences follow queue order; C's batch takes three.
        #expect(h.env.written.map(\.sequence) == [1, 2, 3, 6])
        #expect(h.env.inserted == h.env.written)
        #expect(h.env.publishedSequence == 6)
        // Leadership went to the head of the queue once A was done.
        #expect(h.env.leaders == ["A", "B"])
        #expect(h.pipeline.mu.withLock { h.pipeline.isIdleLocked })
    }

    @Test func aGroupStopsAtItsByteLimit() throws {
        // 1000-byte values: two records fit under 2500 bytes, three do not.
        let h = PipelineHarness(groupMaxBytes: 2500)
        h.env.hold()
        h.start("A", valueBytes: 1000)
        h.waitUntilWriting()
        for (i, label) in ["B", "C", "D", "E", "F"].enumerated() {
            h.start(label, valueBytes: 1000)
            h.waitUntilQueued(i + 1)
        }
        h.env.release()
        h.joinAll()
        #expect(h.failures.isEmpty, "\(h.failures)")
        #expect(h.env.groupLabels == [["A"], ["B", "C"], ["D", "E"], ["F"]])
    }

    @Test func aMemtableSwitchRequestEndsAGroupAndIsMadeByItsOwnLeader() throws {
        let h = PipelineHarness()
        h.holdFirstGroup("A")
        h.start("B")
        h.waitUntilQueued(1)
        h.start("switch", isSwitch: true)
        h.waitUntilQueued(2)
        h.start("C")
        h.waitUntilQueued(3)
        h.env.release()
        h.joinAll()
        #expect(h.failures.isEmpty, "\(h.failures)")
        #expect(h.env.groupLabels == [["A"], ["B"], ["C"]])
        // The forced switch came after B's group was written, before C's.
        #expect(h.env.switchesAfterGroups == [2])
        #expect(h.env.publishedSequence == 3)
    }

    @Test func aFailedLogWriteFailsEveryMemberOfItsGroupAndNoOther() throws {
        let h = PipelineHarness()
        h.env.failWrite(ofGroup: 1, with: .io(IOError(operation: "write", errno: EIO, path: "fake.log")))
        h.holdFirstGroup("A")
        h.startQueued(["B", "C", "D"])
        h.env.release()
        h.joinAll()
        #expect(h.env.groupLabels == [["A"], ["B", "C", "D"]])
        let failure = "write failed on fake.log: Input/output error (errno 5)"
        #expect(h.failures == ["B": failure, "C": failure, "D": failure])
        // The failed group is not published (its sequences stay invisible)
        // and the log refuses later writes, as the database does.
        #expect(h.env.publishedSequence == 1)
        h.start("E")
        h.joinAll()
        #expect(h.failures["E"] == "database is read-only: a log write failed earlier: \(failure)")
    }

    @Test func aLeaderThatCannotMakeRoomFailsAloneAndHandsLeadershipOn() throws {
        let h = PipelineHarness()
        h.holdFirstGroup("A")
        h.start("B")
        h.waitUntilQueued(1)
        h.start("C")
        h.waitUntilQueued(2)
        h.env.failNextMakeRoom(with: .closed)
        h.env.release()
        h.joinAll()
        #expect(h.failures == ["B": "database is closed"])
        #expect(h.env.groupLabels == [["A"], ["C"]])
        #expect(h.env.leaders == ["A", "C"])
        #expect(h.env.publishedSequence == 2)
    }

    @Test func theArrivalThatCompletesAGatheringGroupLeadsIt() throws {
        // A gather wait far longer than the test: B must not wait it out.
        let h = PipelineHarness(maxGatherDelayMicros: 30_000_000)
        h.holdFirstGroup("A", sync: true)
        // Four writers active at once: later leaders expect four.
        h.startQueued(["B", "C", "D"], sync: true)
        h.env.release()
        // B leads next, finds three queued of the four expected, gathers.
        h.waitUntil("B gathers") { h.pipeline.gatherer != nil }
        h.start("E", sync: true)
        h.joinAll()
        #expect(h.failures.isEmpty, "\(h.failures)")
        #expect(h.env.groupLabels == [["A"], ["B", "C", "D", "E"]])
        #expect(h.env.leaders == ["A", "E"])
        #expect(h.env.syncedGroups == [true, true])
    }

    @Test func aGatheringLeaderGoesAloneAfterTheMaxDelay() throws {
        let h = PipelineHarness(maxGatherDelayMicros: 2000)
        h.holdFirstGroup("A", sync: true)
        h.startQueued(["B", "C", "D"], sync: true)
        h.env.release()
        h.joinAll()
        #expect(h.failures.isEmpty, "\(h.failures)")
        #expect(h.env.groupLabels == [["A"], ["B", "C", "D"]])
        #expect(h.env.leaders == ["A", "B"])
    }

    /// A lone synced writer (nobody else has written) leads at once: no
    /// gather wait for followers that do not exist (issue 21's sync1 row).
    @Test func aLoneSyncedWriterNeverWaitsToGather() throws {
        // A gather wait far longer than the test: one would time it out.
        let h = PipelineHarness(maxGatherDelayMicros: 30_000_000)
        let finished = completes(within: 20) {
            for i in 0..<50 {
                h.start("w\(i)", sync: true)
                h.joinWriter("w\(i)")
            }
        }
        #expect(finished, "a lone synced writer waited for followers")
        guard finished else { return _ = Unmanaged.passRetained(h) }
        #expect(h.failures.isEmpty, "\(h.failures)")
        #expect(h.env.groupLabels == (0..<50).map { ["w\($0)"] })
        #expect(h.env.syncedGroups == [Bool](repeating: true, count: 50))
    }

    @Test func unsyncedLeadersNeverGather() throws {
        let h = PipelineHarness(maxGatherDelayMicros: 30_000_000)
        h.holdFirstGroup("A")
        h.startQueued(["B", "C", "D"])
        h.env.release()
        h.joinAll()
        #expect(h.env.groupLabels == [["A"], ["B", "C", "D"]])
        #expect(h.pipeline.mu.withLock { h.pipeline.gatherer == nil })
    }

    @Test func closingLetsQueuedWritersFinishAndRefusesNewOnes() throws {
        let h = PipelineHarness(maxGatherDelayMicros: 30_000_000)
        h.holdFirstGroup("A", sync: true)
        h.start("B", sync: true)
        h.waitUntilQueued(1)
        h.start("C", sync: true)
        h.waitUntilQueued(2)
        h.pipeline.mu.withLock { h.env.closing = true }
        // Close waits for the queue as DBImpl.close does.
        let closed = Locked(false)
        let closer = BackgroundThread.spawn { [pipeline = h.pipeline] in
            pipeline.mu.lock()
            while !pipeline.isIdleLocked { pipeline.mu.wait() }
            pipeline.mu.unlock()
            closed.withLock { $0 = true }
        }
        h.start("late")
        h.joinWriter("late")
        #expect(h.failures["late"] == "database is closed")
        #expect(!closed.withLock { $0 }, "close finished with writers queued")
        h.env.release()
        // Queued before close began: committed, without a gather wait
        // (B expects three writers and finds two; its 30 s wait would
        // outlast this).
        #expect(completes(within: 10) { closer.join() })
        h.joinAll()
        #expect(closed.withLock { $0 })
        #expect(h.env.groupLabels == [["A"], ["B", "C"]])
        #expect(h.failures.count == 1)
    }
}

// MARK: - The fake database side

/// A log and memtable that record what the pipeline hands them. All state
/// is guarded by `state`; `hold()` makes the next log write wait inside
/// `writeGroup` until `release()`.
final class FakeCommitEnvironment: CommitEnvironment, @unchecked Sendable {
    // @unchecked Sendable: every field below is read and written with
    // `state` held (the Locked methods take it inside the pipeline's mu).

    struct Entry: Equatable, CustomStringConvertible {
        var label: String
        var sequence: SequenceNumber
        var description: String { "\(label)@\(sequence)" }
    }

    struct Group {
        var index: Int
        var sync: Bool
    }

    private let state = Monitor()
    private var held = false
    private var writing = false
    private var groupCount = 0
    private var writeFailures: [Int: DBError] = [:]
    private var makeRoomFailure: DBError?
    private var failed: DBError?
    private var _groups: [[Entry]] = []
    private var _inserted: [Entry] = []
    private var _leaders: [String] = []
    private var _synced: [Bool] = []
    private var _switchesAfterGroups: [Int] = []
    private var _published: SequenceNumber = 0
    /// Set by a test with the pipeline's mu held, as DBImpl.close does.
    var closing = false

    func hold() { state.withLock { held = true } }
    func release() { state.withLock { held = false; state.broadcast() } }
    func failWrite(ofGroup index: Int, with error: DBError) { state.withLock { writeFailures[index] = error } }
    func failNextMakeRoom(with error: DBError) { state.withLock { makeRoomFailure = error } }
    var isWriting: Bool { state.withLock { writing } }

    var groupLabels: [[String]] { state.withLock { _groups.map { $0.map(\.label) } } }
    var written: [Entry] { state.withLock { _groups.flatMap { $0 } } }
    var inserted: [Entry] { state.withLock { _inserted } }
    var leaders: [String] { state.withLock { _leaders } }
    var syncedGroups: [Bool] { state.withLock { _synced } }
    var switchesAfterGroups: [Int] { state.withLock { _switchesAfterGroups } }
    var publishedSequence: SequenceNumber { state.withLock { _published } }

    // MARK: CommitEnvironment

    func admitWriteLocked(_ writer: PendingWrite) throws(DBError) {
        if closing { throw DBError.closed }
        if let failure = state.withLock({ failed }) { throw DBError.refusingWrites(after: failure) }
    }

    func makeRoomLocked(for leader: PendingWrite) throws(DBError) {
        let forceSwitch = leader.isSwitch
        let failure = state.withLock { () -> DBError? in
            defer { makeRoomFailure = nil }
            if makeRoomFailure == nil && forceSwitch { _switchesAfterGroups.append(groupCount) }
            return makeRoomFailure
        }
        if let failure { throw failure }
    }

    var isClosingLocked: Bool { closing }

    func beginGroupLocked(first: PendingWrite, recordBytes: Int, sync: Bool, usesKeyspaces: Bool) -> Group {
        state.withLock {
            defer { groupCount += 1 }
            return Group(index: groupCount, sync: sync)
        }
    }

    func writeGroup(_ group: Group, first: PendingWrite) throws(DBError) {
        var entries: [Entry] = []
        var member: PendingWrite? = first
        while let w = member {
            entries.append(Entry(label: FakeCommitEnvironment.label(of: w), sequence: w.firstSequence))
            member = w.next
        }
        let failure = state.withLock { () -> DBError? in
            writing = true
            state.broadcast()
            while held { state.wait() }
            writing = false
            _groups.append(entries)
            _synced.append(group.sync)
            // The leader runs this on its own thread with its own record.
            _leaders.append(FakeCommitEnvironment.label(of: PendingWrite.forCurrentThread()))
            return writeFailures[group.index]
        }
        if let failure { throw failure }
        state.withLock { _inserted += entries }
    }

    func finishGroupLocked(_ group: Group, lastSequence: SequenceNumber, writers: Int, failure: DBError?) {
        state.withLock {
            if let failure {
                failed = failed ?? failure
            } else {
                _published = lastSequence
            }
        }
    }

    /// A writer's key: the test labels each writer with it.
    static func label(of writer: PendingWrite) -> String {
        switch writer.payload {
        case .put(let key, _), .delete(let key): return String(decoding: key, as: UTF8.self)
        case .batch(let rep, _):
            var label = ""
            try? rep.withUnsafeBytes { raw in
                try WriteBatch.forEach(raw) { _, _, key, _ in if label.isEmpty { label = String(decoding: key, as: UTF8.self) } }
            }
            return label
        case .switchMemtable: return "switch"
        case .control: return "control"
        case .syncLog: return "sync"
        case .none: return "?"
        }
    }
}

/// One pipeline over a fake, and writer threads labelled by their key.
final class PipelineHarness: @unchecked Sendable {
    // @unchecked Sendable: `threads` is touched by the test's thread only;
    // `results` is a Locked.
    let env = FakeCommitEnvironment()
    let pipeline: CommitPipeline
    private var threads: [String: BackgroundThread] = [:]
    private let results = Locked<[String: String]>([:])

    init(groupMaxBytes: Int = 1 << 20, maxGatherDelayMicros: Int = 0) {
        pipeline = CommitPipeline(mu: Monitor(),
                                  configuration: CommitPipeline.Configuration(
                                      spinMicros: 0, maxGatherDelayMicros: maxGatherDelayMicros,
                                      groupMaxBytes: groupMaxBytes),
                                  lastSequence: 0)
    }

    /// Failures by writer label (the error's description).
    var failures: [String: String] { results.withLock { $0 } }

    /// Starts a writer thread committing `label` (a put, a batch of
    /// `operations` puts, or a memtable switch request).
    func start(_ label: String, sync: Bool = false, operations: Int = 1, valueBytes: Int = 1,
               isSwitch: Bool = false) {
        let key = Array(label.utf8)
        let value = [UInt8](repeating: 0x61, count: valueBytes)
        var batch = WriteBatch()
        for i in 0..<operations { batch.put(key + (i == 0 ? [] : [UInt8(i)]), value) }
        threads[label] = BackgroundThread.spawn { [pipeline, env, results, batch] in
            do throws(DBError) {
                // A put lends its bytes for the commit, as DB.put does.
                if isSwitch {
                    try pipeline.commit(.switchMemtable, sync: sync, in: env)
                } else if operations == 1 {
                    try key.withBytes { (k) throws(DBError) in
                        try value.withBytes { (v) throws(DBError) in
                            try pipeline.commit(.put(key: k, value: v), sync: sync, in: env)
                        }
                    }
                } else {
                    try pipeline.commit(.batch(rep: batch.rep, count: batch.count), sync: sync, in: env)
                }
            } catch {
                results.withLock { $0[label] = error.description }
            }
        }
    }

    /// Starts writer `label` with the log held: its group stays inside its
    /// log write until `env.release()`, and the next writers queue.
    func holdFirstGroup(_ label: String, sync: Bool = false) {
        env.hold()
        start(label, sync: sync)
        waitUntilWriting()
    }

    /// Starts `labels` one after the other, each once the one before it
    /// is queued (behind a group held in its log write).
    func startQueued(_ labels: [String], sync: Bool = false) {
        let before = pipeline.mu.withLock { pipeline.queuedCount }
        for (i, label) in labels.enumerated() {
            start(label, sync: sync)
            waitUntilQueued(before + i + 1)
        }
    }

    func joinWriter(_ label: String) { threads.removeValue(forKey: label)?.join() }

    func joinAll() {
        for (_, thread) in threads { thread.join() }
        threads = [:]
    }

    func waitUntilWriting() { waitUntil("a group is in its log write") { env.isWriting } }

    func waitUntilQueued(_ count: Int) { waitUntil("\(count) writers queued") { pipeline.queuedCount == count } }

    /// Polls `condition` under the pipeline's mu; records an issue (and
    /// returns) after 20 s, so a bug fails the test instead of hanging it.
    func waitUntil(_ what: String, _ condition: () -> Bool) {
        for _ in 0..<20_000 {
            if pipeline.mu.withLock(condition) { return }
            usleep(1000)
        }
        Issue.record("timed out waiting until \(what)")
    }
}
