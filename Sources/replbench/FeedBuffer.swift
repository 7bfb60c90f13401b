import RingKV
import Synchronization

/// The hand-off between a change feed and a replica's applier, so that a
/// following replica applies everything that arrived while it was busy in
/// one `apply([commits])` (one group commit, the engine cuts it into 4 MiB
/// chunks) instead of one group commit per primary commit.
///
/// Data flow: `pump` runs the feed on a task of its own and appends each
/// batch to `state.batches`, waking the applier if it waits; the applier
/// calls `takeAll()`, which returns every batch buffered so far, or
/// suspends until there is one. The buffer is unbounded: it holds at most
/// the replica's lag, which the benchmark reports.
final class FeedBuffer: Sendable {
    private struct State {
        var batches: [CommittedBatch] = []
        /// The applier suspended in `takeAll`, if any.
        var waiter: CheckedContinuation<Void, Never>?
        /// Set once the feed ended (it ends only by throwing).
        var failure: (any Error)?
    }

    /// Guards the buffered batches, the waiting applier and the feed's end;
    /// taken by the feed task (push) and the applier (takeAll).
    private let state = Mutex(State())

    /// Starts a task that reads `primary`'s feed from `since` into the buffer
    /// until the task is cancelled or the feed throws.
    func pump(_ primary: DB, since: UInt64) -> Task<Void, Never> {
        Task.detached { [self] in
            do {
                for try await batch in primary.changes(since: since) { push(batch) }
                end(DBError.misuse("change feed ended"))
            } catch {
                end(error)
            }
        }
    }

    private func push(_ batch: CommittedBatch) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.batches.append(batch)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func end(_ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Every buffered batch, in feed order; suspends while there is none.
    /// Throws the feed's error once it ended and the buffer is drained.
    func takeAll() async throws -> [CommittedBatch] {
        while true {
            let (taken, failure) = state.withLock { state in
                let taken = state.batches
                state.batches = []
                return (taken, state.failure)
            }
            if !taken.isEmpty { return taken }
            if let failure { throw failure }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if !state.batches.isEmpty || state.failure != nil { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
