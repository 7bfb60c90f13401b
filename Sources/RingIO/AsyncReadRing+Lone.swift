#if canImport(Glibc)
import Glibc
#endif

/// The lone-read half of `AsyncReadRing`: a point lookup's one block read
/// through a record of `LoneReadTable` (LoneReads.swift) and, when it
/// fits, a slot of the ring's registered buffer pool. A task reserves a
/// record, queues it (`enqueueLone`), the submitter prepares it
/// (`prepareLones`), the completion thread accounts its completions
/// (`completeLone`) and resumes the task, which runs its body on the bytes
/// and gives the pool slot back (`giveBack`). Every function here runs
/// under, or takes, the ring's `state` lock.
extension AsyncReadRing {
    /// Reads `length` bytes of `fd` at `offset` and calls `body` with the
    /// bytes read (fewer at the end of the file), on the calling task once
    /// the read is complete; returns what `body` returns. The bytes are
    /// valid only inside `body`. Suspends instead of blocking a thread.
    /// For O_DIRECT files `offset` and `length` must be page multiples.
    /// - Throws: `CancellationError` when the task is cancelled before the
    ///   read was submitted (it is then never started); the read's own
    ///   `IOError`; an `IOError` when the ring failed or was shut down;
    ///   whatever `body` throws.
    public func readLone<R>(fd: Int32, offset: UInt64, length: Int,
                            _ body: (UnsafeRawBufferPointer) throws -> R) async throws -> R {
        let read = try await awaitLone(fd: fd, offset: offset, length: length)
        defer { finish(read) }
        return try body(UnsafeRawBufferPointer(start: read.buffer, count: read.bytesRead))
    }

    /// A lone read that completed: its bytes, and what holds them (a pool
    /// slot, or memory of its own) until `finish`.
    struct LoneBytes {
        let buffer: UnsafeMutableRawPointer?
        let bytesRead: Int
        let poolSlot: Int32
        let own: UnsafeMutableRawPointer?
        let length: Int
    }

    /// `readLone`'s wait, not generic and not inlined: the caller's async
    /// frame (kept in the task's allocator while the read is in flight)
    /// holds only the small `LoneBytes`, not the outcome and its error.
    /// A read that failed gives its buffer back (or frees it) and throws.
    @inline(never)
    func awaitLone(fd: Int32, offset: UInt64, length: Int) async throws -> LoneBytes {
        precondition(length > 0, "AsyncReadRing.readLone: nothing to read")
        // Too large for a pool slot: memory of its own.
        let own: UnsafeMutableRawPointer? = length > Self.poolSlotBytes || !hasPool
            ? PageMemory.allocate(byteCount: length, alignment: AlignedBuffer.alignment, zeroed: false) : nil
        let (index, generation) = reserveLone(fd: fd, offset: offset, length: length, buffer: own)
        let outcome = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                enqueueLone(index, continuation)
            }
        } onCancel: {
            cancelLone(index, generation: generation)
        }
        return try Self.bytes(of: outcome, own: own, length: length, ring: self)
    }

    /// A record for a lone read, and its generation.
    @inline(never)
    private func reserveLone(fd: Int32, offset: UInt64, length: Int,
                             buffer: UnsafeMutableRawPointer?) -> (index: Int32, generation: UInt32) {
        state.withLock { s -> (Int32, UInt32) in
            let i = s.lones.reserve(fd: fd, offset: offset, length: length, buffer: buffer)
            return (i, s.lones[i].generation)
        }
    }

    /// The bytes of a lone read's outcome, or its error thrown after its
    /// memory went back (quarantined when the ring failed: what the
    /// kernel still holds is unknown).
    @inline(never)
    private static func bytes(of outcome: LoneOutcome, own: UnsafeMutableRawPointer?, length: Int,
                              ring: AsyncReadRing) throws -> LoneBytes {
        switch outcome {
        case .done(let bytesRead, let error, let buffer, let poolSlot):
            let read = LoneBytes(buffer: buffer, bytesRead: bytesRead, poolSlot: poolSlot, own: own, length: length)
            if let error {
                ring.finish(read)
                throw error
            }
            return read
        case .cancelled:
            if let own { PageMemory.free(own, byteCount: length) }
            throw CancellationError()
        case .failed(let error):
            if let own { Quarantine.keep(address: own, bytes: length) }
            throw error
        }
    }

    /// The caller is done with `read`'s bytes: its pool slot goes back, or
    /// its own memory is freed.
    func finish(_ read: LoneBytes) {
        if read.poolSlot >= 0 { giveBack(read.poolSlot) }
        if let own = read.own { PageMemory.free(own, byteCount: read.length) }
    }

    /// Runs on the reading task (the continuation's body): lone read
    /// `index` joins the FIFO, or is cancelled or refused at once. Not
    /// inlined into `awaitLone`'s frame (see there).
    @inline(never)
    func enqueueLone(_ index: Int32, _ continuation: UnsafeContinuation<LoneOutcome, Never>) {
        queueOrRefuse(continuation) { s -> LoneOutcome? in
            // As in `enqueue`: a cancellation before this point is seen here.
            if let refusal = s.refusal(operation: "AsyncReadRing.readLone") {
                s.lones.release(index)
                switch refusal {
                case .cancelled: return .cancelled
                case .failed(let failure): return .failed(failure)
                }
            }
            s.lones[index].continuation = continuation
            s.lones.pushWaiting(index)
            return nil
        }
    }

    /// A task was cancelled: its lone read is dropped if it is still
    /// waiting and was never prepared (and is still the same read).
    func cancelLone(_ index: Int32, generation: UInt32) {
        let continuation = state.withLock { s -> UnsafeContinuation<LoneOutcome, Never>? in
            let record = s.lones[index]
            guard record.generation == generation, record.phase == .waiting, !record.started,
                  let c = record.continuation else { return nil }
            s.lones.removeWaiting(index)
            s.lones.release(index)
            return c
        }
        continuation?.resume(returning: .cancelled)
    }

    /// A lone read's task is done with pool slot `slot`; a read waiting for
    /// a slot may now be prepared (this task submits it when nobody does).
    func giveBack(_ slot: Int32) {
        let becomeSubmitter = state.withLock { s -> Bool in
            s.pool?.give(slot)
            guard s.lones.waitingCount > 0, !s.submitting, !s.leavesSubmissionToCompletions, s.failure == nil
            else { return false }
            s.submitting = true
            return true
        }
        if becomeSubmitter { drainSubmissions() }
    }

    /// Prepares waiting lone reads, oldest first, while there is room, a
    /// buffer for each (its own, the slot a short read keeps for its rest,
    /// or a free pool slot) and space in the SQ; returns how many.
    func prepareLones(_ s: inout State, room: Int) -> Int {
        var prepared = 0
        while prepared < room, s.lones.waitingHead >= 0 {
            let i = s.lones.waitingHead
            if s.lones[i].buffer == nil {
                guard let slot = s.pool?.take(), let pool = s.pool else { break }
                s.lones[i].buffer = pool.address(of: slot)
                s.lones[i].poolSlot = slot
            }
            let r = s.lones[i]
            guard let buffer = r.buffer else { break }
            let userData = AsyncReadRing.loneBit | UInt64(i)
            let fixed = r.poolSlot >= 0 && s.pool?.isRegistered == true
            let ok = fixed
                ? ring.prepReadFixed(fd: r.fd, buffer: buffer + r.done, length: r.length - r.done,
                                     offset: r.offset + UInt64(r.done), bufferIndex: 0, userData: userData)
                : ring.prepRead(fd: r.fd, buffer: buffer + r.done, length: r.length - r.done,
                                offset: r.offset + UInt64(r.done), userData: userData)
            if !ok { break }  // the SQ is full until this round's submit
            s.lones.removeWaiting(i)
            s.lones[i].phase = .inFlight
            s.lones[i].started = true
            prepared += 1
        }
        return prepared
    }

    /// Accounts one completion of lone read `index`; returns its outcome
    /// when the read is over (its record is then free), nil while its rest
    /// waits to be prepared again (short read, EINTR/EAGAIN).
    func completeLone(_ s: inout State, _ index: Int32, result: Int32) -> LoneOutcome? {
        let r = s.lones[index]
        if result < 0 {
            let code = -result
            if code == EINTR || code == EAGAIN {
                s.lones.pushWaiting(index)
                return nil
            }
            s.lones[index].error = IOError(operation: "io_uring read", errno: code, offset: r.offset + UInt64(r.done))
        } else if result > 0 {
            let moved = slot.transferred(isWrite: false, fd: r.fd, moved: Int(result))
            s.lones[index].done += moved
            if r.done + moved < r.length {
                s.lones.pushWaiting(index)
                return nil
            }
        }  // 0: end of file, the read is over with what it has
        let done = s.lones[index]
        s.lones.release(index)
        return .done(bytesRead: done.done, error: done.error, buffer: done.buffer, poolSlot: done.poolSlot)
    }
}
