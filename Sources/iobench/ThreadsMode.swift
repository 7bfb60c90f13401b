#if canImport(Glibc)
import Glibc
#endif

/// A pool of T pthreads, each doing pread over a contiguous share of the
/// reads. The threads are created before timing starts and parked at a
/// start line, so thread creation is not measured.
func runThreads(_ ctx: BenchContext, run: Int) throws(BenchError) -> RunSample {
    let threadCount = max(1, min(ctx.threads, ctx.count))
    let startLine = StartLine(parties: threadCount + 1)
    defer { startLine.destroy() }
    let workers = (0..<threadCount).map { t in
        PreadWorker(ctx: ctx, reads: (t * ctx.count / threadCount)..<((t + 1) * ctx.count / threadCount),
                    startLine: startLine)
    }
    var threads: [pthread_t] = []
    for worker in workers {
        var thread = pthread_t()
        // The new thread takes over this +1 reference.
        let rc = pthread_create(&thread, nil, preadWorkerEntry, Unmanaged.passRetained(worker).toOpaque())
        if rc != 0 {
            // Cannot recover cleanly with threads parked at the barrier.
            throw BenchError.io("threads: pthread_create: \(String(cString: strerror(rc)))")
        }
        threads.append(thread)
    }

    startLine.wait()                 // every worker is parked
    let start = MeasurementStart()
    startLine.wait()                 // go
    for thread in threads { pthread_join(thread, nil) }
    let measurement = start.finish()

    // pthread_join orders each worker's writes before these reads.
    for worker in workers {
        if let (read, detail) = worker.failure {
            throw BenchError.readFailed(mode: .threads, read: read, offset: ctx.plan.offsets[read], detail: detail)
        }
    }
    return RunSample(mode: .threads, run: run, measurement: measurement,
                     calls: workers.reduce(0) { $0 + $1.calls })
}

/// One worker's job and results. Only its own thread touches it until
/// pthread_join; the main thread reads it afterwards.
private final class PreadWorker {
    let ctx: BenchContext
    let reads: Range<Int>
    let startLine: StartLine
    var calls = 0
    var failure: (read: Int, detail: String)?

    init(ctx: BenchContext, reads: Range<Int>, startLine: StartLine) {
        self.ctx = ctx
        self.reads = reads
        self.startLine = startLine
    }

    func work() {
        startLine.wait()  // parked
        startLine.wait()  // go
        for i in reads {
            if let detail = preadBlock(ctx, read: i, calls: &calls) {
                failure = (i, detail)
                return
            }
        }
    }
}

private let preadWorkerEntry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { arg in
    guard let arg else { return nil }
    Unmanaged<PreadWorker>.fromOpaque(arg).takeRetainedValue().work()
    return nil
}

/// A reusable pthread barrier for `parties` threads.
private final class StartLine {
    private let barrier = UnsafeMutablePointer<pthread_barrier_t>.allocate(capacity: 1)

    init(parties: Int) {
        pthread_barrier_init(barrier, nil, UInt32(parties))
    }

    func wait() { pthread_barrier_wait(barrier) }

    /// Call once every party has passed its last wait.
    func destroy() {
        pthread_barrier_destroy(barrier)
        barrier.deallocate()
    }
}
