import RingIO
import Synchronization

/// The change feed's view of the commit pipeline (docs/REPLICATION.md).
///
/// How data flows: the group leader publishes each group under the DB's
/// `mu` (`finishGroupLocked`) and then calls `published`, which moves the
/// watermark — the live log's number, the end offset of its last
/// published group, the last published sequence and how far the log is
/// durable — and resumes every feed suspended in `waitForChange`. A log
/// sync (a memtable switch syncing the old log) calls `synced`. Feeds read
/// a WAL file only below the watermark of the live log (or all of a
/// closed log), so they never parse bytes of a group still in flight.
/// With nobody waiting a publish costs one uncontended lock.
final class FeedNotifier: Sendable {
    /// What the feeds may read.
    struct Watermark: Sendable, Equatable {
        /// The live WAL (groups go here); every lower-numbered log is
        /// closed and complete.
        var log: UInt64
        /// End of the last published group in `log`.
        var endOffset: UInt64
        /// The last published sequence.
        var lastSequence: UInt64
        /// Bytes of `log` an fdatasync made durable.
        var durableOffset: UInt64
        /// Bumped by every change, so a waiter knows it missed none.
        var generation: UInt64
        /// The database closed: feeds end with `DBError.closed`.
        var closed: Bool
    }

    private struct State {
        var watermark: Watermark
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    /// The watermark and the suspended feeds (guarded by its own lock;
    /// taken after the DB's `mu`, never before it).
    private let state: Locked<State>

    init(log: UInt64, lastSequence: UInt64) {
        state = Locked(State(watermark: Watermark(log: log, endOffset: 0, lastSequence: lastSequence,
                                                 durableOffset: 0, generation: 0, closed: false)))
    }

    var current: Watermark { state.withLock { $0.watermark } }

    /// A group ending at `endOffset` of `log` is published.
    func published(log: UInt64, endOffset: UInt64, lastSequence: UInt64, durableOffset: UInt64) {
        update { w in
            w.log = log
            w.endOffset = endOffset
            w.lastSequence = lastSequence
            w.durableOffset = durableOffset
        }
    }

    /// `log` is durable up to `durableOffset`.
    func synced(log: UInt64, durableOffset: UInt64) {
        update { w in
            if w.log == log { w.durableOffset = max(w.durableOffset, durableOffset) }
        }
    }

    /// The database closed.
    func close() { update { $0.closed = true } }

    private func update(_ change: (inout Watermark) -> Void) {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            change(&s.watermark)
            s.watermark.generation &+= 1
            guard !s.waiters.isEmpty else { return [] }
            let all = Array(s.waiters.values)
            s.waiters.removeAll(keepingCapacity: true)
            return all
        }
        for continuation in woken { continuation.resume() }
    }

    /// Suspends until the watermark's generation differs from
    /// `generation`, the database closes or the task is cancelled.
    func waitForChange(after generation: UInt64) async {
        let id = state.withLock { s -> Int in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.watermark.generation != generation || s.watermark.closed || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
            continuation?.resume()
        }
    }
}
