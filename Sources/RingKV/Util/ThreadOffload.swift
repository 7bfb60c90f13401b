import Glibc
import RingIO

/// Blocking work handed to an OS thread of its own, so that no task waits
/// for it on a cooperative thread: the async lifecycle calls (open, close,
/// flush, compactRange, checkpoint: rare, and each may run for seconds,
/// so a thread per call rather than a place in `BlockingWorkPool`, which
/// a few long calls could fill), each database's async commit driver
/// (AsyncWriteQueue.swift) and the close of a database dropped inside a
/// task (DB.swift). The threads are detached: nothing joins them.
enum ThreadOffload {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached thread; throws when the system
    /// refuses a thread (`pthread_create`'s errno).
    static func start(_ body: @escaping @Sendable () -> Void) throws(IOError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw IOError(operation: "pthread_create", errno: rc, detail: "a thread for blocking work")
        }
    }

    /// Runs `body` on a thread of its own and suspends the calling task
    /// until it returned. Throws what `body` threw, or `DBError.io` when no
    /// thread could be started.
    static func run<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            do throws(IOError) {
                try start { continuation.resume(with: Result { try body() }) }
            } catch {
                continuation.resume(throwing: DBError.io(error))
            }
        }
    }
}
