/// Group commit (docs/ARCHITECTURE.md §Write path). Writers queue up; one
/// at a time *leads*: it makes room (memtable switch, stalls), takes a
/// prefix of the queue that fits one WAL buffer, assigns sequence numbers,
/// has the WAL encode and write the group (`WALWriter.writeGroup`: a pwrite
/// when no writer of the group asked for sync; write_fixed linked to
/// fdatasync in one io_uring_enter when one did), inserts the group into
/// the memtable, publishes the new last sequence, hands leadership to the
/// next writer in line and marks its members done. Writers that arrive
/// meanwhile queue and form the next group.
///
/// Each writer's state is an atomic word (`PendingWrite.State`): `queued`
/// until a leader marks it `done` or makes it leader (`lead`). A queued
/// writer waits without the DB mutex (WriterWait.swift: a short spin,
/// then yields, then a futex sleep), so a writer whose group commits
/// quickly needs no system call, and a leader makes a wake-up call only
/// for a writer that sleeps. Invariant (under `mu`): `leaderActive` is
/// true exactly while one thread is designated to lead; only it touches
/// the WAL, switches memtables or inserts into the memtable.
extension DBImpl {
    // MARK: - Entry points

    func write(_ batch: WriteBatch, sync: Bool) throws {
        try batch.validate()
        if batch.isEmpty { return }
        try commitOnThisThread(.batch(rep: batch.rep, count: batch.count), sync: sync)
    }

    func put(_ key: [UInt8], _ value: [UInt8], sync: Bool) throws {
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: value.count)
        try commitOnThisThread(.put(key: key, value: value), sync: sync)
    }

    func delete(_ key: [UInt8], sync: Bool) throws {
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: 0)
        try commitOnThisThread(.delete(key: key), sync: sync)
    }

    /// Switches the memtable (if it holds anything) and waits until it is
    /// flushed to an L0 table.
    func flushMemtable() throws {
        try commitOnThisThread(.switchMemtable, sync: false)
        mu.lock()
        defer { mu.unlock() }
        while imm != nil {
            if let failure = backgroundFailure { throw failure }
            if closing { throw DBError.closed }
            mu.wait()
        }
    }

    private func commitOnThisThread(_ payload: PendingWrite.Payload, sync: Bool) throws {
        let writer = PendingWrite.forCurrentThread()
        writer.prepare(payload, sync: sync)
        defer { writer.clear() }
        try commit(writer)
    }

    // MARK: - Queue and leadership

    private func commit(_ writer: PendingWrite) throws {
        mu.lock()
        if closed || closing {
            mu.unlock()
            throw DBError.closed
        }
        if let failure = walFailure {
            mu.unlock()
            throw DBError.readOnly(reason: failure.description)
        }
        enqueue(writer)
        activeWriters += 1
        recentPeakWritersX64 = max(recentPeakWritersX64, activeWriters * 64)
        var leads = false
        var tookOver = false
        if let head = gatherer, queuedCount >= gatherTarget {
            // The arrival that completes a gathering leader's group leads
            // it itself, at once, instead of waking the gatherer: one
            // wake-up less between the last writer arriving and the
            // submission. The gatherer becomes a member.
            gatherer = nil
            if queueFitsOneGroup() {
                head.move(to: .queued)
                leads = true
                tookOver = true
            } else {
                head.move(to: .lead)
            }
        } else if !leaderActive && queueHead === writer {
            leaderActive = true
            leads = true
        }
        if !leads {
            mu.unlock()
            if try waitForTurn(writer) { return }
            mu.lock()
        }
        try lead(writer, tookOver: tookOver)
    }

    /// Waits without `mu` until a leader committed `writer` (true; throws
    /// the group's error) or made it leader (false).
    private func waitForTurn(_ writer: PendingWrite) throws -> Bool {
        switch awaitChange(of: writer, from: .queued) {
        case .done:
            if let error = writer.error { throw error }
            return true
        case .lead:
            return false
        case .queued, .gathering:
            preconditionFailure("writer left its wait in state \(writer.state)")
        }
    }

    /// Leads one group, `leader`'s. Called with `mu` held and `leader`
    /// designated; returns (or throws) with `mu` released and leadership
    /// handed on. With `tookOver`, the gatherer already made room.
    private func lead(_ leader: PendingWrite, tookOver: Bool) throws {
        var ready = tookOver
        while !ready {
            do {
                try makeRoomForWrite(force: leader.isSwitch)
            } catch let e as DBError {
                removeHead(leader)
                activeWriters -= 1
                handOverLeadership()
                mu.unlock()
                throw e
            }
            if leader.isSwitch {
                removeHead(leader)
                activeWriters -= 1
                handOverLeadership()
                mu.unlock()
                return
            }
            // Only synced groups wait for company: an unsynced group costs
            // a pwrite, far less than the wait.
            if !leader.sync || gatherGroup(leader) {
                ready = true
            } else {
                // Taken over: a member of the arrival's group now.
                mu.unlock()
                if try waitForTurn(leader) { return }
                mu.lock()
            }
        }
        try commitGroup(leader: leader)
    }

    /// Takes the group, writes it, publishes it and wakes its members.
    /// Called with `mu` held by the designated leader; returns with `mu`
    /// released. Throws the group's error (every member gets it too).
    private func commitGroup(leader: PendingWrite) throws {
        let (first, count) = takeGroup()
        var sequence = allocatedSequence + 1
        var bytes = 0
        var anySync = false
        var member: PendingWrite? = first
        while let w = member {
            w.firstSequence = sequence
            sequence += UInt64(w.operationCount)
            bytes += WriteGroupEncoding.recordBytes(w)
            anySync = anySync || w.sync
            member = w.next
        }
        allocatedSequence = sequence - 1
        let log = wal
        let memtable = mem
        let reservation = log.reserve(length: bytes, sync: anySync)
        mu.unlock()
        // The memtable is filled once the bytes are on their way (while
        // the kernel syncs a synced group): its entries carry sequences
        // above `lastSequence`, so no reader sees them until the group is
        // published below. After a WAL failure they stay unpublished: the
        // DB refuses writes and flushes from then on, so they never reach
        // a table, and reopening replays only what the log holds.
        var failure: DBError?
        do {
            try log.writeGroup(sync: anySync, reservation: reservation, encode: { destination in
                var at = 0
                var m: PendingWrite? = first
                while let w = m {
                    at += WriteGroupEncoding.encode(w, into: destination + at)
                    m = w.next
                }
            }, duringIO: {
                var m: PendingWrite? = first
                while let w = m, failure == nil {
                    do { try MemTableInserter.apply(w, to: memtable) } catch {
                        failure = error as? DBError ?? DBError.invalidArgument("\(error)")
                    }
                    m = w.next
                }
            })
        } catch let e as DBError {
            failure = failure ?? e
        } catch {
            failure = failure ?? DBError.invalidArgument("\(error)")
        }
        mu.lock()
        log.release(reservation)
        if let failure {
            walFailure = walFailure ?? failure
        } else {
            lastSequence = sequence - 1
            stats.walGroups.add(1)
            if anySync { stats.walSyncedGroups.add(1) }
            stats.writes.add(UInt64(count))
            stats.walBytes.add(UInt64(bytes))
            writePacer.committed(bytes: bytes, level0Files: level0FileCount, slowdownTrigger: options.l0SlowdownTrigger)
        }
        activeWriters -= count
        handOverLeadership()
        mu.unlock()
        // Members are woken after mu is released, so none wakes into a
        // held lock; each is read before it is marked done (its thread may
        // reuse the record at once).
        member = first
        while let w = member {
            member = w.next
            w.next = nil
            if w !== leader {
                w.error = failure
                w.move(to: .done)
            }
        }
        if let failure { throw failure }
    }

    /// The leader is done with its turn: the next writer in line (if any)
    /// leads. Also wakes whoever waits on the monitor (close, flush).
    /// Caller holds `mu`.
    private func handOverLeadership() {
        leaderActive = false
        if let head = queueHead {
            leaderActive = true
            head.move(to: .lead)
        }
        mu.broadcast()
    }

    /// Waits briefly for the writers that were just woken by the previous
    /// group to queue again, so that with N concurrent synced writers a
    /// group holds about N batches instead of alternating halves
    /// (docs/ARCHITECTURE.md §Write path). Waits only when recent groups
    /// saw more concurrent writers than are queued, never longer than
    /// `groupCommitMaxDelayMicros`; a single writer never waits. Returns
    /// false when the writer that completed the group took it over
    /// (`commit`): `leader` is then a member. Caller holds `mu`, held
    /// again on return.
    private func gatherGroup(_ leader: PendingWrite) -> Bool {
        let expected = min((recentPeakWritersX64 + 63) / 64, 64)
        // The peak decays slowly (by 1/64 per group), so a burst that ended
        // soon stops costing the remaining writers their gather wait.
        recentPeakWritersX64 = max(activeWriters * 64, recentPeakWritersX64 - recentPeakWritersX64 / 64)
        guard options.groupCommitMaxDelayMicros > 0, queuedCount < expected, !closing else { return true }
        gatherer = leader
        gatherTarget = expected
        leader.word.store(PendingWrite.State.gathering.rawValue)
        mu.unlock()
        _ = awaitChange(of: leader, from: .gathering, spin: false,
                        timeoutNanos: UInt64(options.groupCommitMaxDelayMicros) * 1000)
        mu.lock()
        // Arrivals change the state only under mu and while `gatherer` is
        // this leader, so what it holds now is final.
        if gatherer === leader { gatherer = nil }
        switch leader.state {
        case .gathering, .lead:
            leader.word.store(PendingWrite.State.lead.rawValue)
            return true
        case .queued, .done:
            return false
        }
    }

    /// Whether every queued writer fits in one group (`takeGroup` would
    /// take them all): only then may the last arrival lead it.
    private func queueFitsOneGroup() -> Bool {
        guard let head = queueHead else { return false }
        var bytes = 0
        var member: PendingWrite? = head
        while let w = member {
            if w.isSwitch { return false }
            bytes += WriteGroupEncoding.recordBytes(w)
            member = w.next
        }
        return bytes <= max(options.walBufferSizeBytes - 4096, WriteGroupEncoding.recordBytes(head))
    }

    private func enqueue(_ writer: PendingWrite) {
        writer.next = nil
        if let tail = queueTail { tail.next = writer } else { queueHead = writer }
        queueTail = writer
        queuedCount += 1
    }

    private func removeHead(_ writer: PendingWrite) {
        precondition(queueHead === writer, "only the queue head leaves the queue alone")
        queueHead = writer.next
        if queueHead == nil { queueTail = nil }
        writer.next = nil
        queuedCount -= 1
    }

    /// Removes from the queue the head and the writers behind it, up to one
    /// WAL buffer of bytes (at least the head), stopping before a memtable
    /// switch request. Returns the first member and the member count; the
    /// members stay linked through `next`, the last one's is nil.
    private func takeGroup() -> (first: PendingWrite, count: Int) {
        guard let first = queueHead else { preconditionFailure("a leader with an empty queue") }
        var last = first
        var count = 1
        var bytes = WriteGroupEncoding.recordBytes(first)
        let limit = max(options.walBufferSizeBytes - 4096, bytes)
        while let next = last.next, !next.isSwitch, bytes + WriteGroupEncoding.recordBytes(next) <= limit {
            bytes += WriteGroupEncoding.recordBytes(next)
            last = next
            count += 1
        }
        queueHead = last.next
        if queueHead == nil { queueTail = nil }
        last.next = nil
        queuedCount -= count
        return (first, count)
    }
}
