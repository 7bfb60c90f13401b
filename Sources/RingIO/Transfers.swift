import CRingSupport
#if canImport(Glibc)
import Glibc
#endif

/// One read or write moving through the ring, with its progress.
struct Transfer {
    var isWrite: Bool
    var fd: Int32
    var buffer: UnsafeMutableRawPointer
    var length: Int
    var offset: UInt64
    var done = 0
    var endOfFile = false
    var error: IOError?
}

/// The progress of a set of transfers on one ring: which are still to be
/// prepared (new ones, and the remainders of short or EINTR/EAGAIN ones)
/// and how many are prepared but not yet completed. `Ring.run` drives it
/// to the end in one go; `PendingReads` drives it in two halves (submit
/// now, harvest later).
struct TransferQueue {
    private(set) var transfers: [Transfer]
    private var queue: [Int]
    private var head = 0
    /// Prepared (submitted, or still in the SQ) and not yet completed.
    private(set) var inFlight = 0
    /// A test's hooks (debug builds only; see `IOSeam`).
    private let slot: IOHookSlot
    /// Added to a transfer's index to form its SQE's user_data, so several
    /// queues can share one ring (`AsyncReadRing`, which sets it when the
    /// queue gets a slot, before any SQE is prepared); 0 for a ring of its own.
    var userDataBase: UInt64

    init(_ transfers: [Transfer], slot: IOHookSlot = IOHookSlot(), userDataBase: UInt64 = 0) {
        self.transfers = transfers
        // A loop, not Array(transfers.indices): the generic range-to-array
        // copy was ~2% of an async get's CPU in a debug build.
        var queue: [Int] = []
        queue.reserveCapacity(transfers.count)
        for i in 0..<transfers.count { queue.append(i) }
        self.queue = queue
        self.slot = slot
        self.userDataBase = userDataBase
    }

    var isFinished: Bool { head == queue.count && inFlight == 0 }

    /// Transfers (new ones or remainders) waiting to be prepared.
    var hasUnprepared: Bool { head < queue.count }

    /// Prepares as many waiting transfers as the SQ holds (never more than
    /// `ring.sqEntries` in flight, so the CQ cannot overflow) and at most
    /// `limit`; returns how many it prepared.
    @discardableResult
    mutating func prepare(on ring: Ring, limit: Int = .max) -> Int {
        var prepared = 0
        while head < queue.count && inFlight < ring.sqEntries && prepared < limit {
            let i = queue[head]
            let t = transfers[i]
            let remaining = t.length - t.done
            let userData = userDataBase + UInt64(i)
            let ok = t.isWrite
                ? ring.prepWrite(fd: t.fd, buffer: t.buffer + t.done, length: remaining,
                                 offset: t.offset + UInt64(t.done), userData: userData)
                : ring.prepRead(fd: t.fd, buffer: t.buffer + t.done, length: remaining,
                                offset: t.offset + UInt64(t.done), userData: userData)
            if !ok { break }
            head += 1
            inFlight += 1
            prepared += 1
        }
        return prepared
    }

    /// Accounts one completion; completions that are not ours are ignored.
    mutating func complete(_ c: Completion) {
        guard c.userData >= userDataBase, c.userData - userDataBase < UInt64(transfers.count) else { return }
        inFlight -= 1
        let i = Int(c.userData - userDataBase)
        let t = transfers[i]
        if c.result < 0 {
            let code = -c.result
            if code == EINTR || code == EAGAIN {
                queue.append(i)
            } else {
                transfers[i].error = IOError(
                    operation: t.isWrite ? "io_uring write" : "io_uring read",
                    errno: code, offset: t.offset + UInt64(t.done))
            }
        } else if c.result == 0 {
            if t.isWrite {
                transfers[i].error = IOError(operation: "io_uring write", errno: EIO,
                                             offset: t.offset + UInt64(t.done),
                                             detail: "kernel accepted zero bytes")
            } else {
                transfers[i].endOfFile = true
            }
        } else {
            let moved = slot.transferred(isWrite: t.isWrite, fd: t.fd, moved: Int(c.result))
            transfers[i].done += moved
            if transfers[i].done < t.length { queue.append(i) }
        }
    }
}

extension Ring {
    /// Drives `transfers` to completion: submits as many as the SQ holds,
    /// waits, harvests, and resubmits the remainder of every short transfer
    /// (and EINTR/EAGAIN results) until each one is complete, at end of file
    /// (reads) or failed. One io_uring_enter per round of submissions.
    /// With `poll` (a foreground thread's reads), each wait first polls for
    /// the completion (`CompletionPoll`), then sleeps if it has not come.
    func run(_ transfers: inout [Transfer], slot: IOHookSlot = IOHookSlot(), poll: CompletionPoll? = nil) throws(IOError) {
        var queue = TransferQueue(transfers, slot: slot)
        let poll = isSQPoll || splitRoles || rk_thread_is_background() ? nil : poll
        while !queue.isFinished {
            queue.prepare(on: self)
            if let poll {
                try submit()
                poll.wait(on: self)
            }
            try submitAndWait(1)
            harvest { queue.complete($0) }
        }
        transfers = queue.transfers
    }

    /// Submits one prepared-by-`prepare` operation and returns its result
    /// (used for fsync and fallocate).
    func runSingle(_ operation: String, prepare: (Ring) -> Bool) throws(IOError) -> Int32 {
        while !prepare(self) {
            // The SQ is full of someone's leftovers; flush them first.
            try submit()
        }
        while true {
            try submitAndWait(1)
            var result: Int32?
            harvest { c in if c.userData == Ring.singleUserData { result = c.result } }
            if let result {
                if result == -EINTR || result == -EAGAIN {
                    while !prepare(self) { try submit() }
                    continue
                }
                if result < 0 { throw IOError(operation: operation, errno: -result) }
                return result
            }
        }
    }

    static let singleUserData = UInt64.max
}
