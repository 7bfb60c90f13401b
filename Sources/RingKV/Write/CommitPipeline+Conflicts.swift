/// The commit pipeline's side of optimistic transactions
/// (docs/TRANSACTIONS.md): a leader validates each transaction of its
/// group in group order, under `mu`, against the conflict table
/// (ConflictTable.swift), and raises the slots of every accepted member's
/// keys before the next member is validated — so a transaction also
/// conflicts with an earlier member of its own group. A conflicting
/// transaction leaves the group before anything is numbered or written and
/// its writer gets `DBError.conflict(key:)`.
///
/// A group without a transaction raises its slots after `mu` is released,
/// before its log write (`raiseConflictSlots`): the next leader validates
/// only after this group handed leadership on, so it sees them.
extension CommitPipeline {
    /// A taken group after validation: the members that stay (linked
    /// through `next`), how many, the rejected ones (linked through
    /// `next`), and whether their slots are already raised.
    struct ScreenedGroup {
        var first: PendingWrite?
        var count: Int
        var rejected: PendingWrite?
        var raised: Bool
    }

    /// Validates the transactions of the group linked from `taken`
    /// (`count` members). Caller holds `mu` and leads.
    func screenTransactionsLocked(_ taken: PendingWrite, count: Int) -> ScreenedGroup {
        mu.assertHeld()
        let unchanged = ScreenedGroup(first: taken, count: count, rejected: nil, raised: false)
        guard conflicts.isActive else { return unchanged }
        if count == 1 { return screenAloneLocked(taken) }
        var member: PendingWrite? = taken
        var hasTransaction = false
        while let w = member, !hasTransaction {
            hasTransaction = w.check != nil
            member = w.next
        }
        guard hasTransaction else { return unchanged }
        var sequence = allocatedSequence + 1
        var first: PendingWrite?
        var last: PendingWrite?
        var kept = 0
        var rejected: PendingWrite?
        var rejectedLast: PendingWrite?
        member = taken
        while let w = member {
            member = w.next
            w.next = nil
            if let check = w.check, let key = conflicts.conflictLocked(check) {
                w.error = .conflict(key: key)
                if let rejectedLast { rejectedLast.next = w } else { rejected = w }
                rejectedLast = w
                continue
            }
            w.firstSequence = sequence
            conflicts.raise(w)
            sequence += UInt64(w.operationCount)
            if let last { last.next = w } else { first = w }
            last = w
            kept += 1
        }
        return ScreenedGroup(first: first, count: kept, rejected: rejected, raised: true)
    }

    /// `screenTransactionsLocked` of a group of one writer (an uncontended
    /// writer leads its own group): the same outcome without walking and
    /// relinking a list (each step of that loop retained and released its
    /// members). Caller holds `mu` and leads; the table is active.
    private func screenAloneLocked(_ w: PendingWrite) -> ScreenedGroup {
        guard let check = w.check else { return ScreenedGroup(first: w, count: 1, rejected: nil, raised: false) }
        if let key = conflicts.conflictLocked(check) {
            w.error = .conflict(key: key)
            return ScreenedGroup(first: nil, count: 0, rejected: w, raised: true)
        }
        w.firstSequence = allocatedSequence + 1
        conflicts.raise(w)
        return ScreenedGroup(first: w, count: 1, rejected: nil, raised: true)
    }

    /// Raises the conflict slots of a group without transactions (the
    /// leader, without `mu`, once the group is numbered).
    func raiseConflictSlots(_ first: PendingWrite) {
        var member: PendingWrite? = first
        while let w = member {
            conflicts.raise(w)
            member = w.next
        }
    }

    /// Every member of the group conflicted: nothing is written. Hands
    /// leadership on, wakes the rejected writers, and throws the leader's
    /// conflict. Caller holds `mu`; returns with it released.
    func finishEmptyGroupLocked(leader: PendingWrite, rejected: PendingWrite?, writers: Int) throws(DBError) {
        mu.assertHeld()
        activeWritersFinished(writers)
        handOverLeadershipLocked()
        mu.unlock()
        if let error = wakeRejected(rejected, leader: leader) { throw error }
    }

    /// Marks each rejected writer done (its `error` is its conflict);
    /// returns the leader's error when the leader is one of them.
    func wakeRejected(_ rejected: PendingWrite?, leader: PendingWrite) -> DBError? {
        var leaderError: DBError?
        var member = rejected
        while let w = member {
            member = w.next
            w.next = nil
            if w === leader {
                leaderError = w.error
            } else {
                w.move(to: .done)
            }
        }
        return leaderError
    }
}
