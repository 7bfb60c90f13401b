import Glibc
import Synchronization
import Testing
@testable import RingKV

/// No cooperative thread waits for I/O (docs/ARCHITECTURE.md §Async API):
/// every call of the async API — open, reads that open tables, writes,
/// `entries`, flush, compactRange, checkpoint, close, and dropping the last
/// reference — suspends its task instead of blocking the thread under it.
/// Checked two ways: `BlockingCheck` records any blocking call a task makes
/// (debug builds), and on an executor of ONE thread a heartbeat task must
/// run while each call is in progress.
@Suite struct AsyncLifecycleTests {
    /// A database with keys in several L0 tables and the memtable, closed:
    /// a new open starts with no table open. L0's trigger is above its four
    /// tables, so no compaction starts at open and opens (or replaces) the
    /// tables the calls below must open themselves (a call that finds its
    /// table open and its answer at hand has nothing to wait for).
    static func prepare(_ dir: TempDir, directReads: Bool = true) throws -> Options {
        var options = openOptions(memtableBytes: 1 << 20)
        options.l0CompactionTrigger = 8
        options.directReads = directReads
        options.blockCacheSizeBytes = 64 << 10
        let db = try DB(path: dir.sub("db"), options: options)
        for table in 0..<4 {
            for i in 0..<500 { try db.put(bytes("k\(table)-\(i)"), [UInt8](repeating: UInt8(i % 251), count: 200)) }
            try db.flush()
        }
        for i in 0..<50 { try db.put(bytes("m\(i)"), bytes("mem")) }
        try db.close()
        return options
    }

    @Test func noAsyncCallBlocksItsTask() async throws {
        let dir = try TempDir("ringkv-async-life")
        let options = try Self.prepare(dir)
        let recorder = BlockingCheck.Recorder()
        let copy = dir.sub("copy")
        try await BlockingCheck.$recorder.withValue(recorder) {
            let db = try await DB(path: dir.sub("db"), options: options)
            // Reads that open their tables.
            #expect(try await db.get(bytes("k0-7")) == [UInt8](repeating: 7, count: 200))
            let many = try await db.multiGet([bytes("k1-3"), bytes("k2-4"), bytes("k3-5"), bytes("nope")])
            #expect(many.map { $0?.count } == [200, 200, 200, nil])
            try await db.put(bytes("a"), bytes("1"), options: WriteOptions(sync: true))
            try await db.delete(bytes("m1"))
            try await db.deleteRange(from: bytes("m2"), to: bytes("m3"))
            var rows = 0
            for try await _ in db.entries(from: bytes("k3"), to: bytes("k4")) { rows += 1 }
            #expect(rows == 500)
            try await db.flush()
            try await db.compactRange()
            try await db.checkpoint(to: copy)
            try await db.close()
            try await db.close()  // idempotent
            // The copy, dropped without close.
            let dropped = try await DB(path: copy, options: options)
            #expect(try await dropped.get(bytes("a")) == bytes("1"))
        }
        #expect(recorder.recorded.isEmpty, "tasks blocked in: \(recorder.recorded)")
        // Whatever the drop left running, a reopen waits for it.
        let reopened = try await DB(path: copy, options: options)
        #expect(try await reopened.get(bytes("k3-9")) == [UInt8](repeating: 9, count: 200))
        try await reopened.close()
    }

    /// On a one-thread executor a heartbeat task keeps beating while each
    /// call is in progress: the call's task suspended and left the thread
    /// free. A call that blocked the thread sees no beat at all (the
    /// heartbeat cannot run between the two readings of its count), in
    /// every attempt. A call that suspends can still see none when the
    /// thread it hands its work to finishes before the task reaches its
    /// suspension point (the task then goes on without suspending: seen
    /// once for `close` under ThreadSanitizer on a loaded machine), so the
    /// sequence runs up to three times and each call must beat in one.
    @Test func lifecycleCallsLeaveAOneThreadExecutorFree() async throws {
        var best: [String: Int] = [:]
        for _ in 0..<3 {
            for (call, count) in try await Self.beatsDuringEachCall() { best[call] = max(best[call] ?? 0, count) }
            if best.values.allSatisfy({ $0 > 0 }) { break }
        }
        for (call, count) in best.sorted(by: { $0.key < $1.key }) {
            #expect(count > 0, "\(call) held the executor's only thread (\(count) beats in each of 3 attempts)")
        }
        #expect(best.count == 9)
    }

    /// The heartbeat's beats during each lifecycle call, on a fresh
    /// database (`prepare`) and a one-thread executor.
    static func beatsDuringEachCall() async throws -> [String: Int] {
        let dir = try TempDir("ringkv-async-narrow")
        let options = try prepare(dir)
        let executor = SingleThreadExecutor()
        defer { executor.shutdown() }
        return try await withTaskExecutorPreference(executor) { () async throws -> [String: Int] in
            let heart = Heartbeat(executor)
            var beats: [String: Int] = [:]
            func during<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
                let before = heart.count
                let result = try await body()
                beats[name] = heart.count - before
                return result
            }
            let db = try await during("open") { try await DB(path: dir.sub("db"), options: options) }
            _ = try await during("get opening a table") { try await db.get(bytes("k0-1")) }
            _ = try await during("multiGet opening tables") { try await db.multiGet([bytes("k1-1"), bytes("k2-2")]) }
            try await during("synced put") { try await db.put(bytes("b"), bytes("2"), options: WriteOptions(sync: true)) }
            try await during("entries") { for try await _ in db.entries(from: bytes("k3")) {} }
            try await during("flush") { try await db.flush() }
            try await during("compactRange") { try await db.compactRange() }
            try await during("checkpoint") { try await db.checkpoint(to: dir.sub("copy")) }
            try await during("close") { try await db.close() }
            await heart.stop()
            return beats
        }
    }

    /// Dropping the last reference inside a task: the close runs on a
    /// thread of its own (the task's thread never waits), the DB's logger
    /// says so and when it is done, and a reopen waits for it.
    @Test func droppingTheLastReferenceInATaskClosesOnAThreadOfItsOwnAndLogsIt() async throws {
        let dir = try TempDir("ringkv-async-drop")
        let store = CapturingLogHandler.Store()
        var options = openOptions(memtableBytes: 1 << 20)
        options.logger = CapturingLogHandler.logger(store)
        let recorder = BlockingCheck.Recorder()
        let executor = SingleThreadExecutor()
        defer { executor.shutdown() }
        try await withTaskExecutorPreference(executor) {
            try await BlockingCheck.$recorder.withValue(recorder) {
                var db: DB? = try await DB(path: dir.sub("db"), options: options)
                for i in 0..<3000 { try await db?.put(bytes("k\(i)"), [UInt8](repeating: 1, count: 500)) }
                db = nil
            }
        }
        #expect(recorder.recorded.isEmpty, "the dropping task blocked in: \(recorder.recorded)")
        #expect(store.with(DB.droppedInTaskMessage).count == 1)
        let reopened = try await DB(path: dir.sub("db"), options: openOptions(memtableBytes: 1 << 20))
        #expect(try await reopened.get(bytes("k2999"))?.count == 500)
        try await reopened.close()
        let closedAfterDrop = store.with(DB.closedAfterDropMessage)
        #expect(closedAfterDrop.count == 1)
        #expect(closedAfterDrop.first?.metadata["thread"] == "background")
    }

    /// Dropped outside any task (on a plain thread), the close runs right
    /// there, as before, and is logged too.
    @Test func droppingTheLastReferenceOnAThreadClosesThereAndLogsIt() throws {
        let dir = try TempDir("ringkv-async-drop")
        let store = CapturingLogHandler.Store()
        var options = openOptions()
        options.logger = CapturingLogHandler.logger(store)
        let path = dir.sub("db")
        let threadOptions = options
        let failure = Locked<(any Error)?>(nil)
        let thread = BackgroundThread.spawn {
            do {
                let db = try DB(path: path, options: threadOptions)
                try db.put(bytes("k"), bytes("v"))
            } catch {
                failure.withLock { $0 = error }
            }
        }
        thread.join()
        #expect(failure.withLock { $0 } == nil)
        // Closed by the time the thread ended: the LOCK is free.
        let reopened = try DB(path: path, options: openOptions())
        #expect(try reopened.get(bytes("k")) == bytes("v"))
        let closedAfterDrop = store.with(DB.closedAfterDropMessage)
        #expect(closedAfterDrop.count == 1)
        #expect(closedAfterDrop.first?.metadata["thread"] == "dropping")
        #expect(store.with(DB.droppedInTaskMessage).isEmpty)
        try reopened.close()
    }
}

/// A task that counts while the executor it prefers has time for it.
final class Heartbeat: Sendable {
    private final class State: Sendable {
        let beats = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
    }

    private let state = State()
    private let task: Task<Void, Never>

    init(_ executor: any TaskExecutor) {
        let state = self.state
        task = Task(executorPreference: executor) {
            while !state.stopping.load(ordering: .relaxed) {
                state.beats.add(1, ordering: .relaxed)
                await Task.yield()
            }
        }
    }

    var count: Int { state.beats.load(ordering: .relaxed) }

    func stop() async {
        state.stopping.store(true, ordering: .relaxed)
        await task.value
    }
}
