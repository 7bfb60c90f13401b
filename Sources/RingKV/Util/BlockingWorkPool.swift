/// A few OS threads (not the cooperative pool) for the short blocking
/// work that async callers hand off: `entries` chunk refills, table opens
/// of async reads, and async reads on a backend without io_uring — jobs
/// that each do a bounded amount of reading. Nothing that may wait for
/// long runs here (a few such jobs would hold every thread): async commits
/// have a driver thread per database (Write/AsyncWriteQueue.swift), and
/// open, close, flush, compactRange and checkpoint a thread per call
/// (`ThreadOffload`). The number of threads is fixed, so thousands of
/// waiting tasks add none: a task waits as a suspended continuation,
/// resumed by the thread that ran its job.
final class BlockingWorkPool: @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `threads` are read and written only
    // with `monitor` held; `threadCount` is immutable.
    private let monitor = Monitor()
    private var jobs: [@Sendable () -> Void] = []
    /// Index of the oldest job not yet taken (the array is compacted when
    /// it drains), so a long queue is FIFO without O(n) removals.
    private var head = 0
    private var threads: [BackgroundThread] = []
    /// Threads waiting for a job.
    private var idle = 0
    private let threadCount: Int

    /// The process-wide pool; its threads start at first use and live as
    /// long as the process (like `AsyncReadRing.shared`'s thread).
    static let shared = BlockingWorkPool(threadCount: 4)

    init(threadCount: Int) {
        precondition(threadCount > 0, "a pool needs a thread")
        self.threadCount = threadCount
    }

    /// Runs `job` on a pool thread, first in, first out.
    /// - Throws: `DBError.io` (pthread_create) when the pool has no thread
    ///   and none can start: the job is not queued. With a thread running,
    ///   a refused extra thread only means the job waits its turn.
    func submit(_ job: @escaping @Sendable () -> Void) throws(DBError) {
        try monitor.withLock { () throws(DBError) in
            // A new thread only when the waiting threads cannot take
            // every queued job.
            if jobs.count + 1 - head > idle && threads.count < threadCount {
                do throws(DBError) {
                    threads.append(try BackgroundThread { [self] in work() })
                } catch {
                    if threads.isEmpty { throw error }
                }
            }
            jobs.append(job)
            monitor.broadcast()
        }
    }

    /// Runs `body` on a pool thread and suspends the calling task until it
    /// returned (no cooperative thread waits meanwhile).
    func run<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            do throws(DBError) {
                try submit { continuation.resume(with: Result { try body() }) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    private func work() {
        while true {
            let job: @Sendable () -> Void = monitor.withLock {
                while head == jobs.count {
                    idle += 1
                    monitor.wait()
                    idle -= 1
                }
                let job = jobs[head]
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                }
                return job
            }
            job()
        }
    }
}
