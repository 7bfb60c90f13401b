#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// One pread after another on this thread.
func runSync(_ ctx: BenchContext, run: Int) throws(BenchError) -> RunSample {
    var calls = 0
    var failure: BenchError?
    let measurement = measure {
        for i in 0..<ctx.count {
            if let error = preadBlock(ctx, read: i, calls: &calls) {
                failure = .readFailed(mode: .sync, read: i, offset: ctx.plan.offsets[i], detail: error)
                return
            }
        }
    }
    if let failure { throw failure }
    return RunSample(mode: .sync, run: run, measurement: measurement, calls: calls)
}

/// Reads block `read` of the plan into its slot with pread, resuming short
/// reads and retrying EINTR; counts every pread call. Returns nil on
/// success or a description of the failure.
@inline(__always)
func preadBlock(_ ctx: BenchContext, read i: Int, calls: inout Int) -> String? {
    let blockBytes = ctx.blockSizeBytes
    let base = ctx.slot(i)
    let offset = ctx.plan.offsets[i]
    var done = 0
    while done < blockBytes {
        calls += 1
        let n = pread(ctx.fd, base + done, blockBytes - done, off_t(offset + UInt64(done)))
        if n > 0 {
            done += n
        } else if n == 0 {
            return "end of file after \(done) bytes"
        } else {
            let code = rk_errno()
            if code == EINTR { continue }
            return String(cString: strerror(code)) + " (errno \(code))"
        }
    }
    return nil
}
