import RingIO
import Synchronization

/// Group commit (docs/ARCHITECTURE.md §Write path): the writer queue,
/// leadership, group formation, gathering and sequence numbering. The
/// database's side of a commit — admission, room in the memtable, the WAL
/// write, the memtable insert, publishing — sits behind `CommitEnvironment`,
/// so tests drive this type against a fake log and memtable.
///
/// How a write flows: the caller's `PendingWrite` joins the queue under
/// `mu`. One writer at a time *leads*: it asks the environment to make
/// room (memtable switch, stalls), takes a prefix of the queue that fits
/// one WAL buffer (stopping before a leader-only request: a memtable
/// switch, a keyspace create or drop, which its own leader carries out
/// through the same environment call instead), numbers its
/// operations, and — without `mu` — has the environment write the group
/// to the log and insert it into the memtable. With `mu` again it lets the
/// environment publish the group (or record its failure), hands leadership
/// to the next writer in line and marks every member done with the
/// group's outcome. Writers that arrive meanwhile queue and form the next
/// group.
///
/// Each writer's state is an atomic word (`PendingWrite.State`): `queued`
/// until a leader marks it `done` or makes it leader (`lead`). A queued
/// writer waits without `mu` (CommitPipeline+Wait.swift: a short spin,
/// then yields, then a futex sleep), so a writer whose group commits
/// quickly needs no system call, and a leader makes a wake-up call only
/// for a writer that sleeps. Invariant (under `mu`): `leaderActive` is
/// true exactly while one thread is designated to lead; only it calls
/// `makeRoomLocked` and `writeGroup`, so only it touches the WAL, switches
/// memtables, inserts into the memtables, or creates and drops keyspaces.
///
/// `mu` is the database's monitor, shared so that a commit takes one lock
/// and the environment may wait on it (stalls) while leading.
final class CommitPipeline: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is guarded by `mu` (marked
    // per field), except `spin`, which is atomics.

    struct Configuration {
        /// How long a queued writer spins and yields before it sleeps
        /// (`Options.groupCommitSpinMicros`; 0: sleep at once).
        var spinMicros: Int
        /// The longest a synced leader waits for more writers to join
        /// (`Options.groupCommitMaxDelayMicros`; 0: never waits).
        var maxGatherDelayMicros: Int
        /// Log bytes one group may take (at least its first writer's).
        var groupMaxBytes: Int

        init(spinMicros: Int, maxGatherDelayMicros: Int, groupMaxBytes: Int) {
            self.spinMicros = spinMicros
            self.maxGatherDelayMicros = maxGatherDelayMicros
            self.groupMaxBytes = groupMaxBytes
        }

        init(_ options: Options) {
            // A page of the WAL buffer stays free for a sync-point record.
            self.init(spinMicros: options.groupCommitSpinMicros,
                      maxGatherDelayMicros: options.groupCommitMaxDelayMicros,
                      groupMaxBytes: options.walBufferSizeBytes - 4096)
        }
    }

    let mu: Monitor
    let configuration: Configuration

    /// The writer queue, linked through `PendingWrite.next`: first in
    /// line, last, and how many (guarded by mu).
    private(set) var queueHead: PendingWrite?
    private var queueTail: PendingWrite?
    private(set) var queuedCount = 0
    /// One thread is designated to lead a group (guarded by mu): from the
    /// moment it is chosen until it hands leadership on.
    private(set) var leaderActive = false
    /// Highest sequence handed to a group, published or still in flight
    /// (guarded by mu).
    private(set) var allocatedSequence: SequenceNumber
    /// The queue head while it gathers a group, and the queue length that
    /// completes the group; the writer reaching it takes the group over
    /// and clears `gatherer` (guarded by mu).
    private(set) var gatherer: PendingWrite?
    private var gatherTarget = 0
    /// Writers queued or in a group being committed, and a slowly decaying
    /// peak of it (in 1/64ths, so it can decay smoothly): how many writers
    /// a leader may expect to gather (guarded by mu).
    private(set) var activeWriters = 0
    private(set) var recentPeakWritersX64 = 64
    /// Waiting writers' phase 2 and how well it has been paying off
    /// (CommitPipeline+Wait.swift).
    let spin = AdaptiveSpin()
    /// Transactions' conflict detection (ConflictTable.swift): validated
    /// and raised by leaders (CommitPipeline+Conflicts.swift).
    let conflicts = ConflictTable()

    /// `lastSequence`: the highest sequence already used (recovered).
    init(mu: Monitor, configuration: Configuration, lastSequence: SequenceNumber) {
        self.mu = mu
        self.configuration = configuration
        allocatedSequence = lastSequence
    }

    /// No writer is queued or leading (close waits for this). Caller
    /// holds `mu`.
    var isIdleLocked: Bool {
        mu.assertHeld()
        return queueHead == nil && !leaderActive
    }

    /// Takes the next sequence for a leader-only request that publishes
    /// one itself (an ingest, DB+Ingest.swift). Caller holds `mu` and
    /// leads, so no group is in flight and the sequence follows every
    /// published one.
    func allocateSequenceLocked() -> SequenceNumber {
        mu.assertHeld()
        precondition(leaderActive, "only a leader allocates a sequence outside a group")
        allocatedSequence += 1
        return allocatedSequence
    }

    // MARK: - Entry point

    /// Commits `payload` from the calling thread (with its thread's
    /// `PendingWrite`): returns once its group is published, or throws the
    /// group's error. Caller does not hold `mu`.
    /// `keyspace`: the keyspace of a put, delete or switch (nil: the
    /// default one); `batchKeyspaces`: the other keyspaces a batch names;
    /// `replicatedSequence`: a replica's apply (the batch's first sequence).
    @inline(__always)
    func commit<Env: CommitEnvironment>(_ payload: PendingWrite.Payload, sync: Bool, keyspace: KeyspaceData? = nil,
                                        batchKeyspaces: [KeyspaceData] = [], check: TransactionCheck? = nil,
                                        replicatedSequence: SequenceNumber? = nil,
                                        in env: Env) throws(DBError) {
        let writer = PendingWrite.forCurrentThread()
        writer.prepare(payload, sync: sync, keyspace: keyspace, batchKeyspaces: batchKeyspaces, check: check,
                       replicatedSequence: replicatedSequence)
        defer { writer.clear() }
        try commit(writer, in: env)
    }

    // MARK: - Queue and leadership

    private func commit<Env: CommitEnvironment>(_ writer: PendingWrite, in env: Env) throws(DBError) {
        mu.lock()
        do {
            try env.admitWriteLocked(writer)
        } catch {
            mu.unlock()
            throw error
        }
        enqueueLocked(writer)
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
            if queueFitsOneGroupLocked() {
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
        try leadLocked(writer, tookOver: tookOver, in: env)
    }

    /// Waits without `mu` until a leader committed `writer` (true; throws
    /// the group's error) or made it leader (false).
    private func waitForTurn(_ writer: PendingWrite) throws(DBError) -> Bool {
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
    private func leadLocked<Env: CommitEnvironment>(_ leader: PendingWrite, tookOver: Bool,
                                              in env: Env) throws(DBError) {
        mu.assertHeld()
        var ready = tookOver
        while !ready {
            do {
                try env.makeRoomLocked(for: leader)
            } catch {
                removeHeadLocked(leader)
                activeWriters -= 1
                handOverLeadershipLocked()
                mu.unlock()
                throw error
            }
            if leader.isLeaderOnly {
                removeHeadLocked(leader)
                activeWriters -= 1
                handOverLeadershipLocked()
                mu.unlock()
                return
            }
            // Only synced groups wait for company: an unsynced group costs
            // a pwrite, far less than the wait.
            if !leader.sync || gatherGroupLocked(leader, closing: env.isClosingLocked) {
                ready = true
            } else {
                // Taken over: a member of the arrival's group now.
                mu.unlock()
                if try waitForTurn(leader) { return }
                mu.lock()
            }
        }
        try commitGroupLocked(leader: leader, in: env)
    }

    /// Takes the group, numbers it, has `env` write and publish it, and
    /// wakes its members. Called with `mu` held by the designated leader;
    /// returns with `mu` released. Throws the group's error (every member
    /// gets it too).
    private func commitGroupLocked<Env: CommitEnvironment>(leader: PendingWrite, in env: Env) throws(DBError) {
        mu.assertHeld()
        let (taken, takenCount) = takeGroupLocked()
        // Transactions are validated in group order; a conflicting one
        // leaves the group (CommitPipeline+Conflicts.swift).
        let screened = screenTransactionsLocked(taken, count: takenCount)
        guard let first = screened.first else {
            try finishEmptyGroupLocked(leader: leader, rejected: screened.rejected, writers: takenCount)
            return
        }
        let count = screened.count
        var sequence = allocatedSequence + 1
        var bytes = 0
        var anySync = false
        var usesKeyspaces = false
        var member: PendingWrite? = first
        while let w = member {
            w.firstSequence = sequence
            sequence += UInt64(w.operationCount)
            bytes += WriteGroupEncoding.recordBytes(w)
            anySync = anySync || w.sync
            usesKeyspaces = usesKeyspaces || w.usesKeyspaces
            member = w.next
        }
        allocatedSequence = sequence - 1
        let group = env.beginGroupLocked(first: first, recordBytes: bytes, sync: anySync, usesKeyspaces: usesKeyspaces)
        let raiseUnlocked = conflicts.isActive && !screened.raised
        mu.unlock()
        if raiseUnlocked { raiseConflictSlots(first) }
        var failure: DBError?
        do {
            try env.writeGroup(group, first: first)
        } catch {
            failure = error
        }
        mu.lock()
        env.finishGroupLocked(group, lastSequence: sequence - 1, writers: count, failure: failure)
        activeWriters -= takenCount
        handOverLeadershipLocked()
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
        if let leaderConflict = wakeRejected(screened.rejected, leader: leader) { throw leaderConflict }
        if let failure { throw failure }
    }

    /// `n` writers of a group are done (caller holds `mu`).
    func activeWritersFinished(_ n: Int) {
        mu.assertHeld()
        activeWriters -= n
    }

    /// The leader is done with its turn: the next writer in line (if any)
    /// leads. Also wakes whoever waits on the monitor (close, flush).
    /// Caller holds `mu`.
    func handOverLeadershipLocked() {
        mu.assertHeld()
        leaderActive = false
        if let head = queueHead {
            leaderActive = true
            head.move(to: .lead)
        }
        mu.broadcast()
    }

    // MARK: - Gathering

    /// Waits briefly for the writers that were just woken by the previous
    /// group to queue again, so that with N concurrent synced writers a
    /// group holds about N batches instead of alternating halves
    /// (docs/ARCHITECTURE.md §Write path). Waits only when recent groups
    /// saw more concurrent writers than are queued, never longer than
    /// `maxGatherDelayMicros`, and not while the database closes; a single
    /// writer never waits. Returns false when the writer that completed
    /// the group took it over (`commit`): `leader` is then a member.
    /// Caller holds `mu`, held again on return.
    private func gatherGroupLocked(_ leader: PendingWrite, closing: Bool) -> Bool {
        mu.assertHeld()
        let expected = min((recentPeakWritersX64 + 63) / 64, 64)
        // The peak decays slowly (by 1/64 per group), so a burst that ended
        // soon stops costing the remaining writers their gather wait.
        recentPeakWritersX64 = max(activeWriters * 64, recentPeakWritersX64 - recentPeakWritersX64 / 64)
        guard configuration.maxGatherDelayMicros > 0, queuedCount < expected, !closing else { return true }
        gatherer = leader
        gatherTarget = expected
        leader.word.store(PendingWrite.State.gathering.rawValue)
        mu.unlock()
        _ = awaitChange(of: leader, from: .gathering, spin: false,
                        timeoutNanos: UInt64(configuration.maxGatherDelayMicros) * 1000)
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

    // MARK: - The queue (mu held)

    /// Whether every queued writer fits in one group (`takeGroup` would
    /// take them all): only then may the last arrival lead it.
    private func queueFitsOneGroupLocked() -> Bool {
        mu.assertHeld()
        guard let head = queueHead else { return false }
        var bytes = 0
        var member: PendingWrite? = head
        while let w = member {
            if w.isLeaderOnly { return false }
            bytes += WriteGroupEncoding.recordBytes(w)
            member = w.next
        }
        return bytes <= max(configuration.groupMaxBytes, WriteGroupEncoding.recordBytes(head))
    }

    private func enqueueLocked(_ writer: PendingWrite) {
        mu.assertHeld()
        writer.next = nil
        if let tail = queueTail { tail.next = writer } else { queueHead = writer }
        queueTail = writer
        queuedCount += 1
    }

    private func removeHeadLocked(_ writer: PendingWrite) {
        mu.assertHeld()
        precondition(queueHead === writer, "only the queue head leaves the queue alone")
        queueHead = writer.next
        if queueHead == nil { queueTail = nil }
        writer.next = nil
        queuedCount -= 1
    }

    /// Removes from the queue the head and the writers behind it, up to
    /// `groupMaxBytes` of log records (at least the head), stopping before
    /// a leader-only request. Returns the first member and the member
    /// count; the members stay linked through `next`, the last one's is nil.
    private func takeGroupLocked() -> (first: PendingWrite, count: Int) {
        mu.assertHeld()
        guard let first = queueHead else { preconditionFailure("a leader with an empty queue") }
        var last = first
        var count = 1
        var bytes = WriteGroupEncoding.recordBytes(first)
        let limit = max(configuration.groupMaxBytes, bytes)
        while let next = last.next, !next.isLeaderOnly, bytes + WriteGroupEncoding.recordBytes(next) <= limit {
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

/// What the commit pipeline needs from the database (WritePath.swift) or
/// from a test's fake: admission, room in the memtable, and one group's
/// log write, memtable insert and publication. Methods named `…Locked` run
/// with the pipeline's `mu` held; `writeGroup` runs without it, by the
/// leader alone.
protocol CommitEnvironment: AnyObject {
    /// What `beginGroupLocked` hands to `writeGroup` and
    /// `finishGroupLocked` (the log, its reservation, the memtable).
    associatedtype Group

    /// Throws when `writer` may not enter: closing or closed, the log
    /// failed earlier, or a keyspace it names is dropped or dropping.
    func admitWriteLocked(_ writer: PendingWrite) throws(DBError)

    /// Makes room in the memtables for the leader's group (may release and
    /// re-take `mu` while it stalls or switches); for a leader-only
    /// request (`leader.isLeaderOnly`) carries it out instead: a switch of
    /// the leader's keyspace's memtable when it holds anything (a flush
    /// request), a keyspace create or drop.
    func makeRoomLocked(for leader: PendingWrite) throws(DBError)

    /// The database is closing: a leader does not wait to gather.
    var isClosingLocked: Bool { get }

    /// Reserves `recordBytes` of log for the group linked from `first`
    /// (synced when `sync`) and captures what the unlocked write needs;
    /// `usesKeyspaces` when a member writes to a keyspace other than the
    /// default one (whose memtables are then resolved for the group).
    func beginGroupLocked(first: PendingWrite, recordBytes: Int, sync: Bool, usesKeyspaces: Bool) -> Group

    /// Without `mu`: writes the members, linked from `first` through
    /// `next` and numbered (`firstSequence`), to the log and inserts them
    /// into the memtable. Throws the group's failure.
    func writeGroup(_ group: Group, first: PendingWrite) throws(DBError)

    /// Publishes the group (sequences through `lastSequence` become
    /// visible) or, with a `failure`, records it.
    func finishGroupLocked(_ group: Group, lastSequence: SequenceNumber, writers: Int, failure: DBError?)
}
