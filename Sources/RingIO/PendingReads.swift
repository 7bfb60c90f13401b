/// Reads submitted now and harvested later (`IOBackend.submitReads`).
///
/// The handle owns what the kernel may still be writing into: a reference
/// to the `SharedAlignedBuffer` every request points into and, for
/// io_uring, the ring (taken from the backend's pool) the reads were
/// submitted on. `wait()` completes the reads — resubmitting short ones,
/// as `readBatch` does — and returns the ring to the pool. A handle
/// dropped before `wait()` drains in `deinit`: it waits for every
/// submitted read to complete before its buffer reference goes, so memory
/// is never freed under an in-flight read (regular-file reads cannot be
/// cancelled once issued, so waiting is what cancelling would cost
/// anyway). If the ring itself fails so that it is unknown what is still
/// in flight, the buffer and the ring are leaked on purpose.
///
/// Not thread-safe: one thread submits, waits or drops it (it may be a
/// different thread from one call to the next, never two at once).
public final class PendingReads {
    /// io_uring state while reads are in flight; nil once finished or for
    /// reads that completed at submission (POSIX).
    private final class Flight {
        let ring: Ring
        let backend: URingBackend
        var queue: TransferQueue
        init(ring: Ring, backend: URingBackend, queue: TransferQueue) {
            self.ring = ring
            self.backend = backend
            self.queue = queue
        }
    }

    private var requests: [ReadRequest]
    private let buffer: SharedAlignedBuffer
    private var flight: Flight?
    /// The ring failed; thrown by every `wait()`.
    private var failure: IOError?
    /// Applied once to the results before `wait()` returns them (a
    /// wrapping backend rewrites results here, at harvest time).
    private var completionHooks: [(inout [ReadRequest]) -> Void] = []
    private var harvested = false

    /// Reads that are already complete (the POSIX backend reads at submit).
    public init(completed requests: [ReadRequest], buffer: SharedAlignedBuffer) {
        self.requests = requests
        self.buffer = buffer
    }

    /// Prepares and submits every read the ring holds (the rest go at
    /// `wait()`) with one io_uring_enter, and returns without waiting.
    init(submitting requests: [ReadRequest], buffer: SharedAlignedBuffer,
         on ring: Ring, backend: URingBackend) {
        self.requests = requests
        self.buffer = buffer
        var queue = TransferQueue(requests.map {
            Transfer(isWrite: false, fd: $0.fd, buffer: $0.buffer, length: $0.length, offset: $0.offset)
        }, slot: backend.slot)
        queue.prepare(on: ring)
        let flight = Flight(ring: ring, backend: backend, queue: queue)
        self.flight = flight
        do {
            try ring.submit()
        } catch {
            // io_uring_enter failed: nothing of this call was consumed, but
            // the ring is not trusted again (see `abandon`).
            failure = error
            abandon()
        }
    }

    deinit {
        guard let flight else { return }
        // Drain: no new submissions, only wait for what the kernel holds.
        // Prepared SQEs still in the SQ are submitted by submitAndWait and
        // counted in inFlight like the others.
        do {
            while flight.queue.inFlight > 0 {
                try flight.ring.submitAndWait(1)
                flight.ring.harvest { flight.queue.complete($0) }
            }
        } catch {
            abandon()
            return
        }
        flight.backend.recycle(flight.ring)
    }

    /// Adds a function applied to the results when they are harvested.
    public func onCompletion(_ hook: @escaping (inout [ReadRequest]) -> Void) {
        precondition(!harvested, "PendingReads.onCompletion after wait()")
        completionHooks.append(hook)
    }

    /// Whether `wait()` would return without blocking on the kernel.
    public var isComplete: Bool { flight == nil }

    /// Blocks until every read completed (at end of file or failed) and
    /// returns the requests with `bytesRead`/`error` set, like `readBatch`.
    /// Idempotent. Throws only when the ring itself failed.
    public func wait() throws(IOError) -> [ReadRequest] {
        if let failure { throw failure }
        if let flight {
            do {
                while !flight.queue.isFinished {
                    flight.queue.prepare(on: flight.ring)
                    try flight.ring.submitAndWait(1)
                    flight.ring.harvest { flight.queue.complete($0) }
                }
            } catch {
                failure = error
                abandon()
                throw error
            }
            for (i, t) in flight.queue.transfers.enumerated() {
                requests[i].bytesRead = t.done
                requests[i].error = t.error
            }
            self.flight = nil
            flight.backend.recycle(flight.ring)
        }
        if !harvested {
            harvested = true
            for hook in completionHooks { hook(&requests) }
            completionHooks = []
        }
        return requests
    }

    /// The ring's state is unknown (an io_uring_enter failed): the kernel
    /// may still write into the buffer, so the buffer and the ring are
    /// leaked rather than freed or reused.
    private func abandon() {
        guard let flight else { return }
        _ = Unmanaged.passRetained(buffer)
        _ = Unmanaged.passRetained(flight.ring)
        self.flight = nil
    }
}
