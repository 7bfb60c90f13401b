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

extension Ring {
    /// Drives `transfers` to completion: submits as many as the SQ holds,
    /// waits, harvests, and resubmits the remainder of every short transfer
    /// (and EINTR/EAGAIN results) until each one is complete, at end of file
    /// (reads) or failed. One io_uring_enter per round of submissions.
    func run(_ transfers: inout [Transfer]) throws(IOError) {
        var queue = Array(transfers.indices)
        var head = 0
        var inFlight = 0
        while head < queue.count || inFlight > 0 {
            while head < queue.count && inFlight < sqEntries {
                let i = queue[head]
                let t = transfers[i]
                let remaining = t.length - t.done
                let ok = t.isWrite
                    ? prepWrite(fd: t.fd, buffer: t.buffer + t.done, length: remaining,
                                offset: t.offset + UInt64(t.done), userData: UInt64(i))
                    : prepRead(fd: t.fd, buffer: t.buffer + t.done, length: remaining,
                               offset: t.offset + UInt64(t.done), userData: UInt64(i))
                if !ok { break }
                head += 1
                inFlight += 1
            }
            try submitAndWait(1)
            harvest { c in
                guard c.userData < UInt64(transfers.count) else { return }
                inFlight -= 1
                let i = Int(c.userData)
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
                    transfers[i].done += Int(c.result)
                    if transfers[i].done < t.length { queue.append(i) }
                }
            }
        }
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
