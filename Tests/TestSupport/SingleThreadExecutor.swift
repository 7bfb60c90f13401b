#if canImport(Glibc)
import Glibc
#endif

/// A task executor with exactly one OS thread: the narrowest cooperative
/// pool there is. Tasks that prefer it (`withTaskExecutorPreference`,
/// `Task(executorPreference:)`) run their jobs on that thread, first in,
/// first out, so a job that blocks the thread stops every other task
/// preferring it — which tests use to see whether an async call really
/// suspends instead of blocking.
public final class SingleThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `stopping` are touched only with
    // `mutex` held; `thread` is written once in init and read by shutdown.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var stopping = false
    private var thread = pthread_t()

    private final class Box {
        let executor: SingleThreadExecutor
        init(_ executor: SingleThreadExecutor) { self.executor = executor }
    }

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        let box = Unmanaged.passRetained(Box(self)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().executor.runJobs()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed with \(rc)")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(unowned)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Runs the jobs still queued, then stops the thread (no task may use
    /// the executor afterwards).
    public func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        pthread_join(thread, nil)
    }

    private func runJobs() {
        while true {
            pthread_mutex_lock(mutex)
            while head == jobs.count && !stopping { pthread_cond_wait(condition, mutex) }
            if head == jobs.count {
                pthread_mutex_unlock(mutex)
                return
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            pthread_mutex_unlock(mutex)
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// A joinable OS thread running one closure (RingIO's tests have no
/// RingKV `BackgroundThread`).
public final class TestThread: @unchecked Sendable {
    // @unchecked Sendable: `handle` is written once in init and read by join.
    private var handle = pthread_t()

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    public init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed with \(rc)")
    }

    public func join() { pthread_join(handle, nil) }
}
