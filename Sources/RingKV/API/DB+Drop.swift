import Logging
import RingIO

/// A `DB` whose last reference goes away without `close()`: `deinit`
/// still closes it (waiting for the writes in flight, the background
/// threads — which may be flushing — and the reads), but never on a
/// task's thread.
///
/// - Dropped inside a task (a cooperative thread, or a task executor's):
///   the close runs on a thread of its own (`ThreadOffload`) and the
///   dropping task goes on at once. Until that close is done, the
///   database is registered in `PendingCloses`, and a new open of the
///   same directory waits for it rather than failing on the LOCK.
/// - Dropped on any other thread: the close runs right there, as
///   before.
///
/// Either way the database's logger says so (notice level): when it was
/// dropped in a task, and once closed, on which thread, how long the close
/// took and the error it threw, if any (nothing else could receive it).
extension DB {
    static let droppedInTaskMessage = "database dropped without close() in a task; closing it on a thread of its own"
    static let closedAfterDropMessage = "closed database dropped without close()"

    /// Called by `deinit`.
    static func closeDropped(_ impl: DBImpl) {
        let open = impl.mu.withLock { !impl.closed && !impl.closing }
        guard open else { return }
        let inTask = withUnsafeCurrentTask { $0 != nil }
        guard inTask else {
            closeAndLog(impl, thread: "dropping")
            return
        }
        impl.events.logger.notice(Logger.Message(stringLiteral: droppedInTaskMessage))
        let key = PendingCloses.shared.begin(impl.path)
        do {
            try ThreadOffload.start {
                closeAndLog(impl, thread: "background")
                PendingCloses.shared.end(key)
            }
        } catch {
            // No thread to be had: closing here beats never closing.
            closeAndLog(impl, thread: "dropping")
            PendingCloses.shared.end(key)
        }
    }

    private static func closeAndLog(_ impl: DBImpl, thread: String) {
        let started = MonotonicClock.nanos()
        var metadata: Logger.Metadata = ["thread": .string(thread)]
        do {
            try impl.close()
        } catch {
            metadata["error"] = .string("\(error)")
        }
        metadata["duration_ms"] = .string(EngineEvents.millis(MonotonicClock.nanos() - started))
        impl.events.logger.notice(Logger.Message(stringLiteral: closedAfterDropMessage), metadata: metadata)
    }
}

/// Databases being closed on a thread of their own after being dropped in
/// a task (`DB.closeDropped`), by directory as spelled: an open of one of
/// them waits until its close released the LOCK. (No real-path lookup: it
/// would be file-system I/O on the dropping task's thread. An open that
/// spells the directory differently finds the LOCK held, and then waits
/// for every such close before it tries again: `DB.init`.)
final class PendingCloses: @unchecked Sendable {
    // @unchecked Sendable: `closing` is read and written only with
    // `monitor` held.
    static let shared = PendingCloses()

    private let monitor = Monitor()
    /// Closes in progress per directory.
    private var closing: [String: Int] = [:]

    /// Registers a close of the database at `path`; returns the key `end` takes.
    func begin(_ path: String) -> String {
        let key = Self.key(path)
        monitor.withLock { closing[key, default: 0] += 1 }
        return key
    }

    func end(_ key: String) {
        monitor.withLock {
            closing[key, default: 1] -= 1
            if closing[key] == 0 { closing[key] = nil }
            monitor.broadcast()
        }
    }

    /// Returns once no close of the database at `path` is in progress
    /// (at once in the common case: nothing registered).
    func waitUntilClosed(_ path: String) {
        let key = Self.key(path)
        monitor.withLock {
            while closing[key] != nil { monitor.wait() }
        }
    }

    /// Waits for every close in progress; false when there was none.
    func waitForAll() -> Bool {
        monitor.withLock {
            if closing.isEmpty { return false }
            while !closing.isEmpty { monitor.wait() }
            return true
        }
    }

    private static func key(_ path: String) -> String { FileSystem.withoutTrailingSlashes(path) }
}
