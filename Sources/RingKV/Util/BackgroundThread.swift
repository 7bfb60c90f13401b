import CRingSupport
import Glibc
import RingIO

/// A joinable OS thread running one closure (flush/compaction workers,
/// tests' child writers). pthread directly: no Foundation in the engine.
final class BackgroundThread: @unchecked Sendable {
    // @unchecked Sendable: `handle` is written once in init, before any
    // other thread can see the object, and read only by join().
    private var handle = pthread_t()
    private var joined = false

    private final class Box {
        let name: String?
        let body: @Sendable () -> Void
        init(_ name: String?, _ body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// `name` (at most 15 bytes) is what `top -H`, gdb and perf show for
    /// the thread.
    /// - Throws: `DBError.io` naming pthread_create and its errno (EAGAIN:
    ///   the process or the system is out of threads); `body` never runs.
    init(name: String? = nil, _ body: @escaping @Sendable () -> Void) throws(DBError) {
        let box = Unmanaged.passRetained(Box(name, body))
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            if let name = box.name { _ = rk_set_thread_name(name) }
            // The engine's own thread: its reads never poll (Options.readPollMicros).
            _ = rk_thread_set_background(true)
            box.body()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw DBError.io(IOError(operation: "pthread_create", errno: rc, detail: "starting thread \(name ?? "")"))
        }
    }

    /// Runs `body` with the calling thread marked as the engine's own, as
    /// its threads are: a `compactRange` on the caller's thread reads like
    /// the compaction thread, without polling (`Options.readPollMicros`).
    static func runAsEngineWork<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let was = rk_thread_set_background(true)
        defer { _ = rk_thread_set_background(was) }
        return try body()
    }

    /// Waits for the closure to return; later calls do nothing.
    func join() {
        if joined { return }
        joined = true
        BlockingCheck.willBlock("thread join")
        pthread_join(handle, nil)
    }
}
