import RingIO

/// Async writes (docs/ARCHITECTURE.md §Write path, "Async writes").
///
/// An async `put`/`delete`/`write` is validated on the caller's task and
/// handed here with its continuation; the task suspends. Each database has
/// a commit driver: an OS thread of its own (`ThreadOffload`, never the
/// cooperative pool and never a thread shared with other databases, so a
/// database stalled on a slow disk or a full L0 holds up only its own
/// writes). The driver takes the writes at the head of the queue (up to
/// `maxMergedBytes`), appends them into ONE batch, commits it through the
/// ordinary group commit (WritePath.swift; synced when any of them asked
/// for sync) and resumes each task with the outcome. Writes that arrive
/// during a commit form the next merged batch, so async writers get group
/// commit without any of them holding a thread. The driver starts with
/// the first write and ends after `lingerNanos` without one.
///
/// The merged batch is atomic as a whole: all of its writes succeed or
/// all fail with the same error (as members of one WAL group do). Each
/// write keeps its order (sequence numbers in arrival order).
///
/// **Bounded.** The queue holds at most `capacityWrites` writes and
/// `capacityBytes` bytes (one write always fits an empty queue). A writer
/// that finds it full is not queued: it stays suspended, in arrival
/// order, until the driver's takes make room (no thread waits and nothing
/// polls). Both lists are linked through their nodes, so a cancelled
/// write leaves either in O(1).
///
/// **Cancellation.** A write is cancelled if its task is cancelled
/// before the driver takes it — before it was queued (its check runs under
/// the lock that queuing takes, so no cancellation is missed in between),
/// while it waits for room, or while queued: its task gets
/// `CancellationError` and nothing of it is written. Once taken the write
/// completes and the task gets its outcome.
final class AsyncWriteQueue: @unchecked Sendable {
    // @unchecked Sendable: every `var` (here and in the nodes) is read and
    // written only with `monitor` held, except that a node the driver took
    // (`.taken`, which `cancel` leaves alone) belongs to the driver alone;
    // the other properties are immutable.

    /// One write and where it stands.
    private final class Node: @unchecked Sendable {
        // @unchecked Sendable: its `var`s are guarded by the queue's
        // `monitor` (see the queue's note); the cancellation handler, which
        // is what captures a node, touches it only under that lock.
        let batch: WriteBatch
        let sync: Bool
        /// A transaction's commit: committed alone, never merged
        /// (its validation must not fail other writes).
        let check: TransactionCheck?
        let sizeBytes: Int
        var continuation: CheckedContinuation<Void, any Error>?
        var place = Place.outside
        var previous: Node?
        var next: Node?

        init(batch: WriteBatch, sync: Bool, check: TransactionCheck?) {
            self.batch = batch
            self.sync = sync
            self.check = check
            sizeBytes = batch.approximateSizeBytes
        }
    }

    private enum Place { case outside, queued, waitingForRoom, taken }

    /// A FIFO of nodes linked through `previous`/`next`, with its totals.
    private struct List {
        private(set) var head: Node?
        private var tail: Node?
        private(set) var count = 0
        private(set) var bytes = 0

        mutating func append(_ node: Node) {
            node.previous = tail
            node.next = nil
            if let tail { tail.next = node } else { head = node }
            tail = node
            count += 1
            bytes += node.sizeBytes
        }

        /// Unlinks `node`, which is in this list.
        mutating func remove(_ node: Node) {
            if let previous = node.previous { previous.next = node.next } else { head = node.next }
            if let next = node.next { next.previous = node.previous } else { tail = node.previous }
            node.previous = nil
            node.next = nil
            count -= 1
            bytes -= node.sizeBytes
        }

        mutating func popFirst() -> Node? {
            guard let first = head else { return nil }
            remove(first)
            return first
        }
    }

    /// Upper bound of one merged batch (a single larger write goes alone).
    static let maxMergedBytes = 1 << 20
    /// How long an idle driver waits for a write before its thread ends.
    static let lingerNanos: UInt64 = 500_000_000

    let capacityWrites: Int
    let capacityBytes: Int
    private let monitor = Monitor()
    /// Writes the driver will take, oldest first (guarded by monitor).
    private var queued = List()
    /// Writers that found the queue full, oldest first (guarded by monitor).
    private var waitingForRoom = List()
    /// A driver thread exists (guarded by monitor).
    private var driverRunning = false

    /// - Parameters:
    ///   - capacityWrites: most writes queued at once (≥ 1).
    ///   - capacityBytes: most bytes queued at once; one write always fits
    ///     an empty queue.
    init(capacityWrites: Int = 4096, capacityBytes: Int = 8 << 20) {
        self.capacityWrites = max(capacityWrites, 1)
        self.capacityBytes = max(capacityBytes, 1)
    }

    /// Writes queued, and writers waiting for room.
    var counts: (queued: Int, waitingForRoom: Int) {
        monitor.withLock { (queued.count, waitingForRoom.count) }
    }

    /// Queues `batch` (validated, not empty) and suspends until the driver
    /// committed it; throws what the commit threw, or `CancellationError`
    /// (then nothing was written).
    /// `check`: the batch is a transaction's, validated at its commit
    /// (committed alone).
    func write(_ batch: WriteBatch, sync: Bool, check: TransactionCheck? = nil,
               into committer: some MergedBatchCommitter) async throws {
        let node = Node(batch: batch, sync: sync, check: check)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enqueue(node, continuation, committer)
            }
        } onCancel: {
            cancel(node)
        }
    }

    private enum Admission { case cancelled, queued, startDriver }

    /// Runs on the writer's task (the continuation's body).
    private func enqueue(_ node: Node, _ continuation: CheckedContinuation<Void, any Error>,
                         _ committer: some MergedBatchCommitter) {
        let admission = monitor.withLock { () -> Admission in
            // Under the lock `cancel` takes: a cancellation that landed
            // before this point is seen here (the flag is set before the
            // handler runs), one after it finds the node and removes it.
            if Task.isCancelled { return .cancelled }
            node.continuation = continuation
            if waitingForRoom.count == 0 && hasRoom(for: node) {
                node.place = .queued
                queued.append(node)
            } else {
                node.place = .waitingForRoom
                waitingForRoom.append(node)
            }
            if driverRunning {
                monitor.broadcast()  // an idle driver waits on the monitor
                return .queued
            }
            driverRunning = true
            return .startDriver
        }
        switch admission {
        case .cancelled:
            continuation.resume(throwing: CancellationError())
        case .queued:
            break
        case .startDriver:
            do {
                try ThreadOffload.start { [self] in drive(committer) }
            } catch {
                failEverything(DBError.io(error))
            }
        }
    }

    /// The task of a queued or waiting write was cancelled: the write
    /// leaves its list and its task gets `CancellationError`.
    private func cancel(_ node: Node) {
        let continuation = monitor.withLock { () -> CheckedContinuation<Void, any Error>? in
            switch node.place {
            case .queued:
                queued.remove(node)
                admitWaiting()
            case .waitingForRoom:
                waitingForRoom.remove(node)
            case .outside, .taken:
                return nil
            }
            node.place = .outside
            defer { node.continuation = nil }
            return node.continuation
        }
        continuation?.resume(throwing: CancellationError())
    }

    /// Caller holds monitor.
    private func hasRoom(for node: Node) -> Bool {
        queued.count == 0 || (queued.count < capacityWrites && queued.bytes + node.sizeBytes <= capacityBytes)
    }

    /// Moves writers waiting for room into the queue while it has room, in
    /// order. Caller holds monitor.
    private func admitWaiting() {
        while let first = waitingForRoom.head, hasRoom(for: first) {
            waitingForRoom.remove(first)
            first.place = .queued
            queued.append(first)
        }
    }

    // MARK: - The driver

    /// The driver thread: commits merged batches while writes come, then
    /// ends after `lingerNanos` without one.
    private func drive(_ committer: some MergedBatchCommitter) {
        while let taken = takeNext() {
            if taken.contains(where: { $0.check != nil }) {
                commitAroundTransactions(taken, committer)
            } else {
                commitMerged(taken, committer)
            }
        }
    }

    /// Commits the writes before, between and after transactions merged,
    /// in order, and each transaction alone.
    private func commitAroundTransactions(_ taken: [Node], _ committer: some MergedBatchCommitter) {
        var run: [Node] = []
        for node in taken {
            guard let check = node.check else {
                run.append(node)
                continue
            }
            if !run.isEmpty { commitMerged(run, committer) }
            run = []
            do {
                try committer.commitTransaction(node.batch, check: check, sync: node.sync)
                node.continuation?.resume()
            } catch {
                node.continuation?.resume(throwing: error)
            }
        }
        if !run.isEmpty { commitMerged(run, committer) }
    }

    /// Commits `taken` (not empty, no transactions) as one merged batch.
    private func commitMerged(_ taken: [Node], _ committer: some MergedBatchCommitter) {
        do {
            var merged = taken[0].batch
            for node in taken.dropFirst() { merged.append(contentsOf: node.batch) }
            try committer.commitMerged(merged, sync: taken.contains { $0.sync })
            for node in taken { node.continuation?.resume() }
        } catch let error as DBError where taken.count > 1 && error.refusesKeyspace {
            // A write for a keyspace dropped meanwhile (or of another
            // database) is refused at admission, before anything is
            // written: the others must not fail with it. Each is
            // committed alone instead.
            commitOneByOne(taken, committer)
        } catch {
            for node in taken { node.continuation?.resume(throwing: error) }
        }
    }

    private func commitOneByOne(_ taken: [Node], _ committer: some MergedBatchCommitter) {
        for node in taken {
            do {
                try committer.commitMerged(node.batch, sync: node.sync)
                node.continuation?.resume()
            } catch {
                node.continuation?.resume(throwing: error)
            }
        }
    }

    /// The next writes to commit (oldest first, up to `maxMergedBytes`),
    /// waiting for some up to `lingerNanos`; nil when none came and the
    /// driver is to end.
    private func takeNext() -> [Node]? {
        monitor.withLock { () -> [Node]? in
            if queued.count == 0 {
                let deadline = MonotonicClock.nanos() + Self.lingerNanos
                while queued.count == 0 {
                    let now = MonotonicClock.nanos()
                    if now >= deadline {
                        driverRunning = false
                        return nil
                    }
                    monitor.wait(nanoseconds: deadline - now)
                }
            }
            var taken: [Node] = []
            var bytes = 0
            while let first = queued.head,
                  taken.isEmpty || bytes + first.sizeBytes <= AsyncWriteQueue.maxMergedBytes {
                queued.remove(first)
                first.place = .taken
                bytes += first.sizeBytes
                taken.append(first)
            }
            admitWaiting()
            return taken
        }
    }

    /// No driver could be started: every write waiting fails with `error`.
    private func failEverything(_ error: DBError) {
        let continuations = monitor.withLock { () -> [CheckedContinuation<Void, any Error>] in
            var all: [CheckedContinuation<Void, any Error>] = []
            while let node = queued.popFirst() ?? waitingForRoom.popFirst() {
                node.place = .outside
                if let c = node.continuation { all.append(c) }
                node.continuation = nil
            }
            driverRunning = false
            return all
        }
        for c in continuations { c.resume(throwing: error) }
    }
}

/// What an `AsyncWriteQueue` commits its merged batches into: the
/// database, or a test's stand-in.
protocol MergedBatchCommitter: AnyObject, Sendable {
    /// Commits `batch` atomically (synced when `sync`); throws what the
    /// commit threw.
    func commitMerged(_ batch: WriteBatch, sync: Bool) throws
    /// Commits a transaction's `batch` after validating `check`
    /// (throws `DBError.conflict(key:)`, then nothing was written).
    func commitTransaction(_ batch: WriteBatch, check: TransactionCheck, sync: Bool) throws
}

extension MergedBatchCommitter {
    func commitTransaction(_ batch: WriteBatch, check: TransactionCheck, sync: Bool) throws {
        throw DBError.internalError("this committer takes no transactions")
    }
}

extension DBImpl: MergedBatchCommitter {
    func commitMerged(_ batch: WriteBatch, sync: Bool) throws { try write(batch, sync: sync) }
    func commitTransaction(_ batch: WriteBatch, check: TransactionCheck, sync: Bool) throws {
        try commitTransactionNow(batch, check: check, sync: sync)
    }
}
