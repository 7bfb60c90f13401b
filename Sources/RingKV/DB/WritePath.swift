import Glibc
import RingIO

/// Group commit (docs/ARCHITECTURE.md §Write path). Callers queue up; the
/// first in line is the leader: it makes room (memtable switch, stalls),
/// takes every queued batch that fits one WAL buffer, assigns their
/// sequence numbers, writes them with one WAL group (one io_uring_enter:
/// write_fixed linked to fdatasync), inserts them into the memtable in
/// order, publishes the new last sequence, and wakes the group. Batches
/// that arrive meanwhile queue behind it and form the next group.
extension DBImpl {
    func write(_ batch: WriteBatch, sync: Bool) throws {
        try batch.validate()
        if batch.isEmpty { return }
        try commit(PendingWrite(rep: batch.rep, count: batch.count, sync: sync))
    }

    /// Switches the memtable (if it holds anything) and waits until it is
    /// flushed to an L0 table.
    func flushMemtable() throws {
        try commit(PendingWrite(rep: [], count: 0, sync: false, forceSwitch: true))
        mu.lock()
        defer { mu.unlock() }
        while imm != nil {
            if let failure = backgroundFailure { throw failure }
            if closing { throw DBError.closed }
            mu.wait()
        }
    }

    private func commit(_ writer: PendingWrite) throws {
        // Writers to wake, signalled after `mu` is released (the deferred
        // blocks run in reverse order) so they do not wake into a held lock.
        var wake: [PendingWrite] = []
        defer { for member in wake { member.wakeUp.signal() } }
        mu.lock()
        defer { mu.unlock() }
        try checkOpen()
        if let failure = walFailure { throw DBError.readOnly(reason: failure.description) }
        writers.append(writer)
        activeWriters += 1
        recentPeakWritersX64 = max(recentPeakWritersX64, activeWriters * 64)
        defer { activeWriters -= 1 }
        // The arrival that completes a gathering leader's group leads it
        // itself, at once, instead of waking the gatherer and sleeping: one
        // wake-up less between the last writer arriving and the submission.
        var takesOver = false
        if let head = gatherer, writers.count >= gatherTarget {
            takesOver = queueFitsOneGroup()
            if takesOver { gatherer = nil } else { head.wakeUp.signal() }
        }
        while !takesOver {
            // Lead when first in line and a WAL slot is free; otherwise wait
            // to be committed by a leader.
            var spun = options.groupCommitSpinMicros == 0
            while !writer.done && !(writers.first === writer && wal.hasFreeSlot) {
                // A writer behind the queue head keeps its thread running a
                // little first: the group that will carry it usually commits
                // within the spin, and then it needs no wake-up (on 2 cores,
                // the 8 wake-ups per group were about a third of the cycle).
                if !spun && writers.first !== writer {
                    spun = true
                    mu.unlock()
                    spinUntilDone(writer)
                    mu.lock()
                    continue
                }
                writer.wakeUp.wait(mu)
            }
            if writer.done {
                if let error = writer.error { throw error }
                return
            }
            do {
                try makeRoomForWrite(force: writer.forceSwitch)
            } catch let e as DBError {
                writers.removeFirst()
                finish([writer], error: e, wake: &wake)
                throw e
            }
            if writer.forceSwitch {
                writers.removeFirst()
                finish([writer], error: nil, wake: &wake)
                return
            }
            // False when an arriving writer took the group over: this one
            // is now a member of it and waits like the others.
            if gatherGroup(writer) { break }
        }
        let group = takeGroup()
        let anySync = group.contains { $0.sync }
        // A synced group must not overtake an unsynced one still in flight:
        // its fdatasync would not cover that group's bytes.
        while (anySync && unsyncedGroupsInFlight > 0) || !wal.hasFreeSlot { mu.wait() }
        var sequence = allocatedSequence + 1
        var payloads: [[UInt8]] = []
        payloads.reserveCapacity(group.count)
        for member in group {
            WriteBatch.setHeader(&member.rep, sequence: sequence, count: member.count)
            sequence += UInt64(member.count)
            payloads.append(member.rep)
        }
        allocatedSequence = sequence - 1
        let lastInGroup = sequence - 1
        let ticket = nextGroupTicket
        nextGroupTicket += 1
        let log = wal
        let reservation = log.reserve(length: WALWriter.framedLength(payloads))
        let memtable = mem
        if !anySync { unsyncedGroupsInFlight += 1 }
        if log.hasFreeSlot { writers.first?.wakeUp.signal() }  // it may lead the next group
        mu.unlock()
        // The memtable is filled while the kernel writes and syncs the
        // group: its entries carry sequences above `lastSequence`, so no
        // reader sees them until the group is durable and published below.
        // (One group in flight — WALWriter.slotCount — keeps the memtable
        // at one inserter.) After a WAL failure they stay unpublished: the
        // DB refuses writes and flushes from then on, so they never reach
        // a table, and reopening replays only what the log holds.
        var failure: DBError?
        do {
            try log.writeGroup(payloads, sync: anySync, reservation: reservation) {
                do {
                    for payload in payloads { try MemTableInserter.apply(payload, to: memtable) }
                } catch {
                    failure = error as? DBError ?? DBError.invalidArgument("\(error)")
                }
            }
        } catch let e as DBError {
            failure = failure ?? e
        } catch {
            failure = failure ?? DBError.invalidArgument("\(error)")
        }
        mu.lock()
        // Groups become visible strictly in ticket (= sequence) order.
        while completedGroupTicket + 1 != ticket { mu.wait() }
        if failure == nil, let earlier = walFailure { failure = earlier }
        completedGroupTicket = ticket
        log.release(reservation)
        if !anySync { unsyncedGroupsInFlight -= 1 }
        if let failure {
            walFailure = walFailure ?? failure
        } else {
            lastSequence = lastInGroup
            stats.walGroups.add(1)
            if anySync { stats.walSyncedGroups.add(1) }
            stats.writes.add(UInt64(group.count))
            stats.walBytes.add(UInt64(reservation.length))
        }
        finish(group, error: failure, wake: &wake)
        if let failure { throw failure }
    }

    /// Waits briefly for the writers that were just woken by the previous
    /// group to queue again, so that with N concurrent writers a group holds
    /// about N batches instead of alternating halves (docs/ARCHITECTURE.md
    /// §Write path). Waits only when recent groups saw more concurrent
    /// writers than are queued, never longer than
    /// `groupCommitMaxDelayMicros`; a single writer never waits. Returns
    /// false when the writer that completed the group took it over (see
    /// `commit`); `leader` is then no longer first in line.
    private func gatherGroup(_ leader: PendingWrite) -> Bool {
        let expected = min((recentPeakWritersX64 + 63) / 64, 64)
        // The peak decays slowly (by 1/64 per group), so a burst that ended
        // soon stops costing the remaining writers their gather wait.
        recentPeakWritersX64 = max(activeWriters * 64, recentPeakWritersX64 - recentPeakWritersX64 / 64)
        guard options.groupCommitMaxDelayMicros > 0, writers.count < expected else { return true }
        let deadline = MonotonicClock.nanos() + UInt64(options.groupCommitMaxDelayMicros) * 1000
        gatherer = leader
        gatherTarget = expected
        while writers.count < expected {
            let now = MonotonicClock.nanos()
            if now >= deadline || closing { break }
            leader.wakeUp.wait(mu, nanoseconds: deadline - now)
            if gatherer !== leader { return false }
        }
        gatherer = nil
        return true
    }

    /// Whether every queued writer fits in one group (`takeGroup` would
    /// take them all): only then may the last arrival lead it.
    private func queueFitsOneGroup() -> Bool {
        var bytes = 0
        for next in writers {
            if next.forceSwitch { return false }
            bytes += next.rep.count
        }
        return bytes <= max(options.walBufferSizeBytes - 4096, writers[0].rep.count)
    }

    /// Yields the CPU in a loop until `writer` is done or
    /// `groupCommitSpinMicros` passed. Called without `mu`.
    ///
    /// Adaptive: `spinScore` rises when spins end with the write done and
    /// falls faster when they time out, and at zero writers sleep at once
    /// (one in 64 still tries, so a faster disk is noticed again). On a
    /// disk whose fdatasync outlasts the spin, waiting writers thus stop
    /// burning CPU for nothing.
    private func spinUntilDone(_ writer: PendingWrite) {
        let score = spinScore.load(ordering: .relaxed)
        if score == 0 && spinProbes.add(1, ordering: .relaxed).newValue % 64 != 0 { return }
        let until = MonotonicClock.nanos() + UInt64(options.groupCommitSpinMicros) * 1000
        while !writer.done {
            if MonotonicClock.nanos() >= until {
                spinScore.store(max(score - 2, 0), ordering: .relaxed)
                return
            }
            sched_yield()
        }
        spinScore.store(min(score + 1, 16), ordering: .relaxed)
    }

    /// Removes from the queue the leader and the writers behind it, up to
    /// one WAL buffer of bytes (at least the leader), stopping before a
    /// memtable switch request.
    private func takeGroup() -> [PendingWrite] {
        var count = 1
        var bytes = writers[0].rep.count
        let limit = max(options.walBufferSizeBytes - 4096, bytes)
        for next in writers.dropFirst() {
            if next.forceSwitch || bytes + next.rep.count > limit { break }
            bytes += next.rep.count
            count += 1
        }
        let group = Array(writers.prefix(count))
        writers.removeFirst(count)
        return group
    }

    /// Marks `group` done, adds its members and the next queue head to
    /// `wake`, and wakes whoever waits on the monitor (close, flush, slot
    /// waits).
    private func finish(_ group: [PendingWrite], error: DBError?, wake: inout [PendingWrite]) {
        for member in group {
            member.error = error
            member.doneFlag.store(true, ordering: .releasing)
        }
        wake += group
        if let head = writers.first { wake.append(head) }
        mu.broadcast()
    }

    /// Ensures the active memtable has room: switches it (and the WAL) when
    /// full or when `force`, and waits while the previous one is still
    /// being flushed or L0 is at its stop trigger (write stalls); a write
    /// is slowed by 1 ms once when L0 is at its slowdown trigger
    /// (Compaction/WriteStall.swift). Called by the leader with `mu` held.
    private func makeRoomForWrite(force: Bool) throws {
        var force = force
        var allowSlowdown = !force
        var stallStarted: UInt64?
        defer {
            if let stallStarted {
                let waited = MonotonicClock.nanos() - stallStarted
                stats.stalls.add(1)
                stats.stallNanos.add(waited)
                events.stalled(durationNanos: waited, l0Files: versions.current.fileCount(0),
                               reason: level0Stopped ? "L0 at its stop trigger" : "previous memtable still flushing")
            }
        }
        while true {
            if let failure = walFailure { throw DBError.readOnly(reason: failure.description) }
            if allowSlowdown && level0NeedsSlowdown {
                allowSlowdown = false
                slowDownWriterLocked()
                continue
            }
            // An empty memtable always takes the batch, however small
            // `memtableSizeBytes` is (its arena alone may exceed it).
            if !force && (mem.approximateMemoryUsageBytes < options.memtableSizeBytes || mem.entryCount == 0) {
                return
            }
            if force && mem.entryCount == 0 { return }
            if groupsInFlight > 0 {
                // The WAL is switched only with no group in flight.
                mu.wait()
                continue
            }
            if imm != nil {
                if let failure = backgroundFailure { throw failure }
                if closing { throw DBError.closed }
                stallStarted = stallStarted ?? MonotonicClock.nanos()
                mu.wait()
                continue
            }
            if level0Stopped {
                try checkLevel0StopLocked()
                stallStarted = stallStarted ?? MonotonicClock.nanos()
                mu.wait()
                continue
            }
            if wal.hasUnsyncedWrites {
                // The old log's unsynced tail must be durable before any
                // write goes to the new log: a later synced group's
                // fdatasync covers only the new file, so a power loss could
                // otherwise keep later writes and lose earlier ones (no
                // prefix of the acknowledged history). One fdatasync per
                // switch; mu is released meanwhile (this writer leads the
                // queue, so nobody else touches the log).
                let log = wal
                mu.unlock()
                var failure: DBError?
                do { try log.syncUnsyncedWrites() } catch { failure = error as? DBError ?? DBError.invalidArgument("\(error)") }
                mu.lock()
                if let failure {
                    // As after any failed WAL fsync: no retry, read-only.
                    walFailure = walFailure ?? failure
                    throw failure
                }
                continue
            }
            let number = versions.newFileNumber()
            let newLog = try WALWriter.create(dbPath: path, number: number, options: options, backend: backend)
            try? wal.close()
            wal = newLog
            imm = mem
            mem = options.makeMemTable()
            force = false
            wakeAll()
        }
    }
}

/// Applies an encoded write batch to a memtable (one inserter at a time).
package enum MemTableInserter {
    static func apply(_ rep: [UInt8], to memtable: MemTable) throws {
        _ = try rep.withUnsafeBytes { raw in
            try apply(raw, to: memtable, path: "write batch")
        }
    }

    /// Applies a batch read back from a WAL. It is checked completely
    /// before anything is inserted: the decoding, the sequence range (it
    /// must start after `previous`, the last sequence replayed before it,
    /// and stay below 2^56), so damaged-but-checksummed bytes become a
    /// corruption error, never a half-applied batch or a memtable trap.
    /// Returns the last sequence number the batch used.
    @discardableResult
    package static func applyRecovered(_ raw: UnsafeRawBufferPointer, to memtable: MemTable, path: String,
                               after previous: SequenceNumber) throws -> SequenceNumber {
        do {
            let (first, count) = try WriteBatch.header(raw)
            try WriteBatch.forEach(raw) { _, _, _ in }
            guard count > 0, first > previous, first <= InternalKey.maxSequenceNumber - UInt64(count) else {
                throw DecodeError(reason: "write batch sequence \(first) (+\(count)) does not follow \(previous)",
                                  offset: 0)
            }
        } catch let e as DecodeError {
            throw DBError.corruption(path: path, offset: UInt64(e.offset), reason: e.reason)
        }
        return try apply(raw, to: memtable, path: path)
    }

    /// Returns the last sequence number the batch used.
    @discardableResult
    static func apply(_ raw: UnsafeRawBufferPointer, to memtable: MemTable, path: String) throws -> SequenceNumber {
        do {
            var sequence = try WriteBatch.header(raw).sequence
            try WriteBatch.forEach(raw) { type, key, value in
                memtable.add(sequence: sequence, type: type, key: key, value: value)
                sequence += 1
            }
            return sequence - 1
        } catch let e as DecodeError {
            throw DBError.corruption(path: path, offset: UInt64(e.offset), reason: e.reason)
        }
    }
}

extension WALWriter {
    /// Creates log `number` in `dbPath` and makes its directory entry durable
    /// (a synced write into a file whose name could vanish is not durable).
    static func create(dbPath: String, number: UInt64, options: Options, backend: any IOBackend) throws -> WALWriter {
        let log = try WALWriter(path: FileNames.log(dbPath, number), number: number,
                                bufferCount: max(options.walBufferCount, 2),
                                bufferSizeBytes: options.walBufferSizeBytes,
                                preallocateStepBytes: options.walPreallocateBytes,
                                backend: backend, faults: options.faultPlan)
        try ioCall(dbPath) { () throws(IOError) in try backend.syncDirectory(dbPath) }
        return log
    }
}
