#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// The io_uring modes: prepare up to `queueDepth` reads, submit them with
/// one io_uring_enter that also waits, harvest, repeat. With the default
/// depth (N) that is a single enter for the whole batch.
func runUring(_ ctx: BenchContext, mode: BenchMode, run: Int) throws(BenchError) -> RunSample {
    let sample = try runUringOnce(ctx, mode: mode, run: run)  // the ring is gone after this
    if mode == .uringSQPoll {
        // The SQPOLL kernel thread keeps spinning until the ring's teardown
        // (asynchronous) stops it; its CPU would be charged to the next
        // mode's window. Wait until it has exited.
        waitForKernelThreads(namePrefix: "iou-sqp-")
    }
    return sample
}

private func runUringOnce(_ ctx: BenchContext, mode: BenchMode, run: Int) throws(BenchError) -> RunSample {
    let fixed = mode == .uringFixed              // registered buffer and file
    let fixedFile = fixed || mode == .uringFixedFile
    let sqPoll = mode == .uringSQPoll
    let n = ctx.count
    let blockBytes = ctx.blockSizeBytes
    let depth = max(1, min(ctx.queueDepth, n))

    // Setup (not timed): ring, registrations, bookkeeping.
    let ring: Ring
    do {
        ring = try Ring(entries: min(depth, 4096), sqPollIdleMillis: sqPoll ? ctx.sqPollIdleMillis : 0)
        if fixedFile { try ring.registerFiles([ctx.fd]) }
        if fixed {
            try ring.registerBuffers([UnsafeMutableRawBufferPointer(start: ctx.buffer, count: ctx.plan.totalBytes)])
        }
    } catch {
        throw BenchError.io("\(mode.rawValue): \(error)")
    }
    let fd: Int32 = fixedFile ? 0 : ctx.fd  // index 0 of the registered files
    let flags: SQEFlags = fixedFile ? .fixedFile : []
    // The completion queue bounds what may be in flight without overflow.
    let maxInFlight = min(depth, ring.cqEntries)
    var doneBytes = [Int](repeating: 0, count: n)
    var retry: [Int] = []
    retry.reserveCapacity(maxInFlight)
    var failure: BenchError?
    let callsBefore = ring.submitCalls

    let measurement: Measurement
    do {
        measurement = try measure { () throws(IOError) in
            var next = 0
            var inFlight = 0
            var finished = 0
            while finished < n {
                // Refill: retries (short reads, EAGAIN) first, then new reads.
                while inFlight < maxInFlight {
                    let isRetry = !retry.isEmpty
                    guard isRetry || next < n else { break }
                    let i = isRetry ? retry.removeLast() : next
                    let done = doneBytes[i]
                    let target = ctx.slot(i) + done
                    let offset = ctx.plan.offsets[i] + UInt64(done)
                    let ok = fixed
                        ? ring.prepReadFixed(fd: fd, buffer: target, length: blockBytes - done, offset: offset,
                                             bufferIndex: 0, userData: UInt64(i), flags: flags)
                        : ring.prepRead(fd: fd, buffer: target, length: blockBytes - done, offset: offset,
                                        userData: UInt64(i), flags: flags)
                    if !ok {  // submission queue full: submit what we have
                        if isRetry { retry.append(i) }
                        break
                    }
                    if !isRetry { next += 1 }
                    inFlight += 1
                }
                // Everything issued: wait for all of it in the same enter.
                let waitCount = (next == n && retry.isEmpty) ? inFlight : 1
                try ring.submitAndWait(waitCount)
                ring.harvest { c in
                    inFlight -= 1
                    let i = Int(c.userData)
                    if c.result > 0 {
                        doneBytes[i] += Int(c.result)
                        if doneBytes[i] < blockBytes { retry.append(i) } else { finished += 1 }
                    } else if c.result == -EAGAIN || c.result == -EINTR {
                        retry.append(i)
                    } else {
                        finished += 1
                        if failure == nil {
                            let detail = c.result == 0
                                ? "end of file after \(doneBytes[i]) bytes"
                                : String(cString: strerror(-c.result)) + " (errno \(-c.result))"
                            failure = .readFailed(mode: mode, read: i, offset: ctx.plan.offsets[i], detail: detail)
                        }
                    }
                }
            }
        }
    } catch {
        throw BenchError.io("\(mode.rawValue): \(error)")
    }
    if let failure { throw failure }
    return RunSample(mode: mode, run: run, measurement: measurement, calls: ring.submitCalls - callsBefore)
}

/// Waits (up to 2 s) until no thread of this process has a name starting
/// with `namePrefix` (io_uring names its SQPOLL thread "iou-sqp-<pid>").
private func waitForKernelThreads(namePrefix: String) {
    let deadline = monotonicNanos() + 2_000_000_000
    while monotonicNanos() < deadline {
        let tasks = (try? FileSystem.listDirectory("/proc/self/task")) ?? []
        let alive = tasks.contains { tid in threadName("/proc/self/task/\(tid)/comm").hasPrefix(namePrefix) }
        if !alive { return }
        usleep(1000)
    }
}

private func threadName(_ commPath: String) -> String {
    let fd = open(commPath, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return "" }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 64)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    return n > 0 ? String(decoding: bytes[0..<n], as: UTF8.self) : ""
}
