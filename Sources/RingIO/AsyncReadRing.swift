#if canImport(Glibc)
import Glibc
#endif

/// io_uring reads for Swift concurrency: a task hands over a batch of reads
/// and suspends; one completion thread harvests every completion of the
/// ring and resumes the task whose batch is done. No thread blocks per read
/// — a server on two cooperative threads keeps hundreds of reads in flight.
///
/// One ring is shared by every caller. Its two halves have one user each:
/// - **Submission** (prepare SQEs, `io_uring_enter` to submit): only the
///   thread that set `State.submitting`. A task that queues a batch while
///   nobody submits becomes the submitter and drains the queue — its own
///   batch and every batch queued meanwhile by other tasks, so concurrent
///   tasks share `io_uring_enter` calls. The completion thread takes the
///   role when completions leave work queued (short reads, batches that
///   waited for room).
/// - **Completion** (wait, harvest): only the completion thread.
/// liburing's queues are single-producer/single-consumer rings, so the two
/// halves may run at the same time on different threads.
///
/// At most `maxInFlight` (the CQ size) SQEs are in flight, so the
/// completion queue cannot overflow; further batches wait in the queue.
///
/// Two kinds of reads share the ring:
/// - **Batches** (`read(_:buffer:)`): every request must point into the
///   batch's `SharedAlignedBuffer`, which the ring holds a reference to
///   until the kernel is done.
/// - **Lone reads** (`readLone`, a point lookup's one block): a record in
///   a preallocated table (LoneReads.swift) and, when it fits, a slot of
///   the ring's registered buffer pool, taken when the read is prepared
///   and given back after the caller's body has used the bytes — no
///   allocation per read, no page pinning per read (READ_FIXED).
/// A task cancelled after its reads were submitted still waits for them
/// (regular-file reads cannot be cancelled). If the ring itself fails
/// (`io_uring_enter` or the wait returns an error other than EINTR), what
/// is in flight is unknown: every read then fails with that error, and
/// its memory and the ring are leaked on purpose, never freed under the
/// kernel.
public final class AsyncReadRing: @unchecked Sendable {
    // @unchecked Sendable: `ring`'s submission side is used only by the
    // thread holding the submitter role and its completion side only by the
    // completion thread (see above); all other mutable state is in `state`.

    /// A batch of reads and its progress.
    final class Batch: @unchecked Sendable {
        // @unchecked Sendable: every `var` is read and written only with
        // `state`'s lock held (the submitter prepares under it, the
        // completion thread completes under it, `cancel` checks under it).
        var queue: TransferQueue
        let buffer: SharedAlignedBuffer
        var continuation: UnsafeContinuation<Outcome, Never>?
        /// Its index in `State.slots` while waiting or running, else -1.
        var slot = -1
        /// Some SQE of this batch was prepared: it can no longer be cancelled.
        var started = false
        /// In `State.waiting`.
        var isWaiting = false

        init(queue: TransferQueue, buffer: SharedAlignedBuffer) {
            self.queue = queue
            self.buffer = buffer
        }
    }

    // @unchecked Sendable: `done` carries transfers whose pointers lead into
    // the batch's buffer; the completion thread hands them over with the
    // resume and never touches them again.
    enum Outcome: @unchecked Sendable {
        case done([Transfer])
        case cancelled
        case failed(IOError)
    }

    enum Refusal {
        case cancelled
        case failed(IOError)
    }

    struct State {
        /// Batches with transfers to prepare, oldest first.
        var waiting: [Batch] = []
        /// Every batch waiting or running, at its `slot`; nil: a free slot.
        /// A slot is taken at enqueue and freed when the batch finishes,
        /// is cancelled or fails — after its last completion, so no CQE
        /// names a slot that was reused. (An array indexed by the
        /// user_data's upper half, not a dictionary by id: the completion
        /// thread looks a batch up per CQE, and hashing cost more.)
        var slots: [Batch?] = []
        var freeSlots: [Int] = []
        /// Slots in use (batches waiting or running).
        var liveBatches = 0
        var submitting = false
        /// SQEs prepared and not yet completed.
        var inFlight = 0
        var stopping = false
        /// Set when the ring failed: every later batch fails with it.
        var failure: IOError?
        /// Lone reads (LoneReads.swift).
        var lones = LoneReadTable()
        /// Free slots of the buffer pool (nil: no pool could be mapped).
        var pool: ReadBufferPool?

        /// Enough reads are in flight that a completion comes soon, and the
        /// completion thread submits what queued meanwhile after harvesting
        /// it — many tasks' reads in one io_uring_enter (one doorbell of
        /// the device), none of the tasks making a system call. Below
        /// this, the device might idle: a task submits at once.
        var leavesSubmissionToCompletions: Bool { inFlight >= AsyncReadRing.submitAloneBelowInFlight }

        /// Something waits that could be prepared now (room aside): a
        /// batch, or a lone read that has a buffer or can take a slot.
        var hasPreparableWork: Bool {
            if !waiting.isEmpty { return true }
            let head = lones.waitingHead
            guard head >= 0 else { return false }
            return lones[head].buffer != nil || pool?.hasFreeSlot == true
        }

        /// Why a read arriving now is turned away (nil: it may queue): its
        /// task was cancelled, the ring failed, or it is stopping.
        func refusal(operation: String) -> Refusal? {
            if Task.isCancelled { return .cancelled }
            if let failure { return .failed(failure) }
            if stopping { return .failed(IOError(operation: operation, errno: ESHUTDOWN)) }
            return nil
        }

        /// Gives `batch` a slot (its transfers' user_data name it).
        mutating func admit(_ batch: Batch) {
            let slot: Int
            if let free = freeSlots.popLast() {
                slot = free
                slots[slot] = batch
            } else {
                slot = slots.count
                slots.append(batch)
            }
            // Bit 63 of user_data marks lone reads: batch slots stay below 2^31.
            precondition(slot < Int(Int32.max), "AsyncReadRing: too many batches at once")
            batch.slot = slot
            batch.queue.userDataBase = UInt64(slot) << AsyncReadRing.idShift
            liveBatches += 1
        }

        /// Frees `batch`'s slot: it has nothing in flight any more.
        mutating func release(_ batch: Batch) {
            slots[batch.slot] = nil
            freeSlots.append(batch.slot)
            batch.slot = -1
            liveBatches -= 1
        }
    }

    /// user_data = batch slot << 32 | transfer index; batches hold < 2^32 reads.
    private static let idShift: UInt64 = 32
    private static let wakeUserData = UInt64.max
    /// user_data of a lone read: this bit | its record's index.
    static let loneBit: UInt64 = 1 << 63
    /// The buffer pool: slots of 16 KiB (a data block of the default 4 KiB
    /// and its pages, with room for larger blocks), 2048 of them (32 MiB;
    /// a lone read that finds none free waits for one). Twice the reads
    /// that may be in flight: a slot stays taken after its read completed
    /// until the task ran and decoded it, and when thousands of tasks
    /// start at once the resumed ones queue behind them — with 1024 slots
    /// all were held by such reads and the device idled (kvbench --async,
    /// 10 loaded pairs: 2048 slots faster in 8, medians +11 % and +15 %).
    static let poolSlotBytes = 16 << 10
    static let poolSlotCount = 2048
    /// See `State.leavesSubmissionToCompletions`.
    static let submitAloneBelowInFlight = 16

    let ring: Ring
    let state: Locked<State>
    private let maxInFlight: Int
    /// The buffer pool exists (set at init, like the pool).
    let hasPool: Bool
    /// A test's hooks (debug builds only; see `IOSeam`).
    let slot: IOHookSlot
    private var completionThread = pthread_t()

    /// A ring of `entries` SQEs and its completion thread.
    public convenience init(entries: Int = 512) throws(IOError) {
        try self.init(entries: entries, slot: IOHookSlot())
    }

    #if DEBUG
    /// A ring whose transfers ask `hooks` how much of each to count (debug
    /// builds only; see `IOSeam`).
    package convenience init(entries: Int = 512, hooks: (any IOHooks)?) throws(IOError) {
        try self.init(entries: entries, slot: IOHookSlot(hooks))
    }
    #endif

    init(entries: Int, slot: IOHookSlot) throws(IOError) {
        ring = try Ring(entries: entries, splitRoles: true)
        maxInFlight = min(ring.cqEntries, 2 * ring.sqEntries)
        var initial = State()
        initial.pool = ReadBufferPool(slotBytes: Self.poolSlotBytes, slotCount: Self.poolSlotCount)
        if let pool = initial.pool {
            // Registration pins the pool's pages; where RLIMIT_MEMLOCK
            // forbids it, reads into the pool are plain reads.
            initial.pool?.isRegistered = (try? ring.registerBuffers([pool.bytes])) != nil
        }
        hasPool = initial.pool != nil
        state = Locked(initial)
        self.slot = slot
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&completionThread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<AsyncReadRing>.fromOpaque(raw).takeRetainedValue().completionLoop()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<AsyncReadRing>.fromOpaque(context).release()
            throw IOError(operation: "pthread_create", errno: rc, detail: "AsyncReadRing completion thread")
        }
    }

    /// The process-wide instance (one completion thread for the whole
    /// process), created at first use; nil when io_uring is unavailable.
    public static let shared: AsyncReadRing? = {
        guard Ring.probe() == 0 else { return nil }
        return try? AsyncReadRing()
    }()

    /// Reads every request (into `buffer`, which each must point into) and
    /// returns when all are complete, with `bytesRead`/`error` set as
    /// `IOBackend.readBatch` sets them (short reads are resubmitted).
    /// Suspends instead of blocking a thread.
    /// - Throws: `CancellationError` when the task is cancelled before any
    ///   read of the batch was submitted (none is then started); `IOError`
    ///   when the ring itself failed or was shut down.
    public func read(_ requests: [ReadRequest], buffer: SharedAlignedBuffer) async throws -> [ReadRequest] {
        precondition(UInt64(requests.count) < (1 << AsyncReadRing.idShift), "AsyncReadRing: batch too large")
        if requests.isEmpty { return requests }
        try Task.checkCancellation()
        // Plain loops, no closures: this runs once per read, and in a debug
        // build every generic closure costs a metadata lookup.
        var transfers: [Transfer] = []
        transfers.reserveCapacity(requests.count)
        for r in requests {
            precondition(buffer.contains(r.buffer, length: r.length),
                         "AsyncReadRing: every request must point into its buffer")
            transfers.append(Transfer(isWrite: false, fd: r.fd, buffer: r.buffer, length: r.length, offset: r.offset))
        }
        let batch = Batch(queue: TransferQueue(transfers, slot: slot), buffer: buffer)
        let outcome = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                enqueue(batch, continuation)
            }
        } onCancel: {
            cancel(batch)
        }
        switch outcome {
        case .done(let transfers):
            var results = requests
            for i in 0..<transfers.count {
                results[i].bytesRead = transfers[i].done
                results[i].error = transfers[i].error
            }
            return results
        case .cancelled:
            throw CancellationError()
        case .failed(let error):
            throw error
        }
    }

    /// Reads in flight now, and the most there may be (tests).
    var readsInFlight: Int { state.withLock { $0.inFlight } }
    var maxReadsInFlight: Int { maxInFlight }

    /// Stops the completion thread once every running batch completed;
    /// later reads fail. The process-wide instance is never shut down.
    public func shutdown() {
        let wake = state.withLock { s -> Bool in
            if s.stopping { return false }
            s.stopping = true
            if s.submitting { return false }  // the submitter posts the wake-up
            s.submitting = true
            return true
        }
        if wake { drainSubmissions() }
        pthread_join(completionThread, nil)
    }

    // MARK: - Submission side

    /// Runs on the reading task (the continuation's body).
    private func enqueue(_ batch: Batch, _ continuation: UnsafeContinuation<Outcome, Never>) {
        queueOrRefuse(continuation) { s -> Outcome? in
            // Under the lock `cancel` takes: a cancellation that landed
            // before this point is seen here (the task's flag is set before
            // its handler runs), one after it finds the batch waiting.
            switch s.refusal(operation: "AsyncReadRing.read") {
            case .cancelled?: return .cancelled
            case .failed(let failure)?: return .failed(failure)
            case nil: break
            }
            batch.continuation = continuation
            batch.isWaiting = true
            s.admit(batch)
            s.waiting.append(batch)
            return nil
        }
    }

    /// Under the lock, `queue` either queues the read (nil) or says why it
    /// is refused; a refusal resumes the task at once. A read that queues
    /// while no submitter runs and too few reads are in flight for the
    /// completion thread to submit it makes this task the submitter.
    func queueOrRefuse<O: Sendable>(_ continuation: UnsafeContinuation<O, Never>, _ queue: (inout State) -> O?) {
        let (becomeSubmitter, refusal) = state.withLock { s -> (Bool, O?) in
            if let refusal = queue(&s) { return (false, refusal) }
            if s.submitting || s.leavesSubmissionToCompletions { return (false, nil) }
            s.submitting = true
            return (true, nil)
        }
        if let refusal {
            continuation.resume(returning: refusal)
            return
        }
        if becomeSubmitter { drainSubmissions() }
    }

    /// A task was cancelled: its batch is dropped if nothing of it started.
    private func cancel(_ batch: Batch) {
        let continuation = state.withLock { s -> UnsafeContinuation<Outcome, Never>? in
            guard batch.isWaiting, !batch.started, let c = batch.continuation else { return nil }
            s.waiting.removeAll { $0 === batch }
            s.release(batch)
            batch.isWaiting = false
            batch.continuation = nil
            return c
        }
        continuation?.resume(returning: .cancelled)
    }

    /// Runs with the submitter role: prepares waiting batches up to the
    /// in-flight limit, submits them in one `io_uring_enter`, and repeats
    /// until nothing is left to submit; then gives the role up.
    ///
    /// Each round takes the lock once: it prepares every waiting batch's
    /// SQEs under it (a batch's queue is shared with the completion
    /// thread, which completes its transfers under the lock) and keeps,
    /// in order, the batches with transfers left (no room, or the SQ is
    /// full until this round's submit).
    func drainSubmissions() {
        while true {
            let round = state.withLock { s -> DrainRound in
                let room = maxInFlight - s.inFlight
                if s.failure != nil || !s.hasPreparableWork || room <= 0 {
                    if !s.stopping || s.failure != nil { s.submitting = false; return .done }
                    return .wake
                }
                // Lone reads first, oldest first.
                var prepared = prepareLones(&s, room: room)
                var kept = 0
                for i in 0..<s.waiting.count {
                    let batch = s.waiting[i]
                    let count = batch.queue.prepare(on: ring, limit: room - prepared)
                    if count > 0 { batch.started = true }
                    prepared += count
                    if batch.queue.hasUnprepared {
                        s.waiting[kept] = batch  // kept <= i: in place, order kept
                        kept += 1
                    } else {
                        batch.isWaiting = false
                    }
                }
                s.waiting.removeLast(s.waiting.count - kept)
                s.inFlight += prepared
                if prepared == 0 {
                    // No room (or every lone read waits for a pool slot):
                    // the completion thread resumes submitting once
                    // completions free some, or a task once it gives a
                    // slot back.
                    s.submitting = false
                    return .done
                }
                return .submit
            }
            switch round {
            case .done:
                return
            case .wake:
                // Shutting down: post a no-op so the completion thread
                // wakes, sees `stopping`, and exits once nothing runs.
                _ = ring.prepNop(userData: AsyncReadRing.wakeUserData)
                do { try ring.submit() } catch { fail(with: error) }
                state.withLock { $0.submitting = false }
                return
            case .submit:
                do {
                    try submitPrepared()
                } catch {
                    fail(with: error)
                    state.withLock { $0.submitting = false }
                    return
                }
            }
        }
    }

    private enum DrainRound { case submit, wake, done }

    /// Submits every prepared SQE. The kernel may take fewer than offered
    /// (EAGAIN/EBUSY come back from `Ring.submit` as 0 submitted): the rest
    /// stay in the SQ and nobody else would ever submit them, so retry —
    /// completions arriving meanwhile free what the kernel was short of.
    private func submitPrepared() throws(IOError) {
        var idleRounds = 0
        while ring.sqReady > 0 {
            if try ring.submit() > 0 {
                idleRounds = 0
                continue
            }
            idleRounds += 1
            if idleRounds > 10_000 {
                throw IOError(operation: "io_uring_enter", errno: EAGAIN,
                              detail: "the kernel took no submission in 10000 attempts")
            }
            sched_yield()
        }
    }

    // MARK: - Completion side

    private func completionLoop() {
        // Kept from one wake-up to the next (emptied, capacity kept): a
        // wake-up resumes tens of reads, and arrays grown afresh each time
        // cost several mallocs per wake-up.
        var finished: [(UnsafeContinuation<Outcome, Never>, Outcome)] = []
        var finishedLones: [(UnsafeContinuation<LoneOutcome, Never>, LoneOutcome)] = []
        while true {
            do {
                try ring.waitForCompletion()
            } catch {
                fail(with: error)
                return
            }
            let (becomeSubmitter, exit) = state.withLock { s -> (Bool, Bool) in
                ring.harvest { c in
                    if c.userData == AsyncReadRing.wakeUserData { return }
                    if c.userData & AsyncReadRing.loneBit != 0 {
                        let index = Int32(truncatingIfNeeded: c.userData & ~AsyncReadRing.loneBit)
                        guard s.lones.contains(Int(index)), s.lones[index].phase == .inFlight else { return }
                        s.inFlight -= 1
                        let continuation = s.lones[index].continuation
                        if let outcome = completeLone(&s, index, result: c.result), let continuation {
                            finishedLones.append((continuation, outcome))
                        }
                        return
                    }
                    let slot = Int(c.userData >> AsyncReadRing.idShift)
                    guard slot < s.slots.count, let batch = s.slots[slot] else { return }
                    s.inFlight -= 1
                    batch.queue.complete(c)
                    if batch.queue.isFinished {
                        s.release(batch)
                        if let cont = batch.continuation { finished.append((cont, .done(batch.queue.transfers))) }
                        batch.continuation = nil
                    } else if batch.queue.hasUnprepared && !batch.isWaiting {
                        batch.isWaiting = true
                        s.waiting.append(batch)
                    }
                }
                let exit = s.stopping && s.liveBatches == 0 && s.lones.liveCount == 0
                if !exit && !s.submitting && s.hasPreparableWork && s.inFlight < maxInFlight {
                    s.submitting = true
                    return (true, false)
                }
                return (false, exit)
            }
            // Resumed after the lock is released: a resume enqueues the task
            // on its executor, which may wake a thread.
            for (continuation, outcome) in finishedLones { continuation.resume(returning: outcome) }
            for (continuation, outcome) in finished { continuation.resume(returning: outcome) }
            finishedLones.removeAll(keepingCapacity: true)
            finished.removeAll(keepingCapacity: true)
            if becomeSubmitter { drainSubmissions() }
            if exit { return }
        }
    }

    /// The ring failed: what the kernel still holds is unknown, so every
    /// batch fails and its buffer (and the ring) stay allocated forever.
    private func fail(with error: IOError) {
        let (failed, failedLones) = state.withLock { s -> ([UnsafeContinuation<Outcome, Never>],
                                                           [UnsafeContinuation<LoneOutcome, Never>]) in
            if s.failure == nil { s.failure = error }
            var batches: [Batch] = []
            for case let batch? in s.slots { batches.append(batch) }
            s.slots = []
            s.freeSlots = []
            s.liveBatches = 0
            s.waiting = []
            var continuations: [UnsafeContinuation<Outcome, Never>] = []
            for batch in batches {
                _ = Unmanaged.passRetained(batch.buffer)
                if let c = batch.continuation { continuations.append(c) }
                batch.continuation = nil
            }
            // Lone reads waiting or in flight fail; their pool slots are
            // never given back (the pool is as dead as the ring) and their
            // own memory is quarantined by their tasks.
            var lones: [UnsafeContinuation<LoneOutcome, Never>] = []
            for index in s.lones.live where s.lones[index].phase == .waiting || s.lones[index].phase == .inFlight {
                if s.lones[index].phase == .waiting { s.lones.removeWaiting(index) }
                if let c = s.lones[index].continuation { lones.append(c) }
                s.lones.release(index)
            }
            _ = Unmanaged.passRetained(ring)
            return (continuations, lones)
        }
        for c in failed { c.resume(returning: .failed(error)) }
        for c in failedLones { c.resume(returning: .failed(error)) }
    }
}
