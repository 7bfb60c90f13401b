import RingIO

/// Async writes (docs/ARCHITECTURE.md §Async API, "How a write suspends").
///
/// An async `put`/`delete`/`write` is validated on the caller's task, put
/// in this queue with its continuation, and the task suspends. One drain
/// job per database runs on `BlockingWorkPool` (OS threads, not the
/// cooperative pool): it takes every write waiting (up to
/// `maxMergedBytes`), appends them into ONE batch, commits it through the
/// ordinary group commit (WritePath.swift; synced when any of them asked
/// for sync) and resumes each task with the outcome. Writes that arrive
/// during a commit form the next merged batch, so async writers get group
/// commit without any of them holding a thread: thousands of waiting
/// writes cost thousands of continuations and one pool thread.
///
/// The merged batch is atomic as a whole: all of its writes succeed or
/// all fail with the same error (as members of one WAL group do). Each
/// write keeps its order (sequence numbers in queue order).
///
/// Cancellation: a task cancelled before its write was queued, or while it
/// still waits in the queue (no drain has taken it), gets
/// `CancellationError` and nothing is written; once a drain took it, the
/// write completes and the task gets its outcome.
final class AsyncWriteQueue: Sendable {
    private struct Waiting {
        let id: UInt64
        let batch: WriteBatch
        let sync: Bool
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        /// A drain job is scheduled or running.
        var draining = false
        var nextID: UInt64 = 1
    }

    /// Upper bound of one merged batch (a single larger write goes alone).
    static let maxMergedBytes = 1 << 20

    private let state = Locked(State())

    /// Queues `batch` (validated, not empty) and suspends until the drain
    /// that takes it committed it.
    func write(_ batch: WriteBatch, sync: Bool, into db: DBImpl) async throws {
        try Task.checkCancellation()
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let startDrain = state.withLock { s -> Bool in
                    s.waiting.append(Waiting(id: id, batch: batch, sync: sync, continuation: continuation))
                    if s.draining { return false }
                    s.draining = true
                    return true
                }
                if startDrain { BlockingWorkPool.shared.submit { [self] in drain(into: db) } }
            }
        } onCancel: {
            let cancelled = state.withLock { s -> Waiting? in
                guard let i = s.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiting.remove(at: i)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Commits merged batches until the queue is empty (on a pool thread).
    private func drain(into db: DBImpl) {
        while true {
            let taken = state.withLock { s -> [Waiting] in
                if s.waiting.isEmpty {
                    s.draining = false
                    return []
                }
                var bytes = 0
                var count = 0
                for w in s.waiting {
                    if count > 0 && bytes + w.batch.approximateSizeBytes > AsyncWriteQueue.maxMergedBytes { break }
                    bytes += w.batch.approximateSizeBytes
                    count += 1
                }
                defer { s.waiting.removeFirst(count) }
                return Array(s.waiting.prefix(count))
            }
            if taken.isEmpty { return }
            var merged = taken[0].batch
            for w in taken.dropFirst() { merged.append(contentsOf: w.batch) }
            do {
                try db.write(merged, sync: taken.contains { $0.sync })
                for w in taken { w.continuation.resume() }
            } catch {
                for w in taken { w.continuation.resume(throwing: error) }
            }
        }
    }
}
