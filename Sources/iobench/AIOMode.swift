#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// glibc POSIX aio: one aio_read per read, then aio_suspend on each
/// request in turn until all are done. glibc implements this with a pool of
/// helper threads (up to 20 by default) each doing pread64. Its size cannot
/// be set from Swift: aio_init is a GNU extension that the Glibc module does
/// not import, so glibc's defaults apply.
func runAIO(_ ctx: BenchContext, run: Int) throws(BenchError) -> RunSample {
    let n = ctx.count
    let controlBlocks = UnsafeMutablePointer<aiocb>.allocate(capacity: n)
    controlBlocks.initialize(repeating: aiocb(), count: n)
    defer {
        controlBlocks.deinitialize(count: n)
        controlBlocks.deallocate()
    }
    var calls = 0
    var failure: BenchError?

    let measurement = measure {
        for i in 0..<n {
            let cb = controlBlocks + i
            cb.pointee.aio_fildes = ctx.fd
            cb.pointee.aio_buf = UnsafeMutableRawPointer(ctx.slot(i))
            cb.pointee.aio_nbytes = ctx.blockSizeBytes
            cb.pointee.aio_offset = off_t(ctx.plan.offsets[i])
            cb.pointee.aio_sigevent.sigev_notify = Int32(SIGEV_NONE)
            calls += 1
            if aio_read(cb) != 0 {
                let code = rk_errno()
                failure = .readFailed(mode: .aio, read: i, offset: ctx.plan.offsets[i],
                                      detail: "aio_read: " + String(cString: strerror(code)))
                // Requests already queued still complete below.
                for j in i..<n { controlBlocks[j].aio_fildes = -1 }
                break
            }
        }
        // Wait for every queued request in order; each aio_suspend returns
        // once that one is done, so later ones are often done already.
        for i in 0..<n where controlBlocks[i].aio_fildes >= 0 {
            let cb = UnsafePointer(controlBlocks + i)
            var list: [UnsafePointer<aiocb>?] = [cb]
            while aio_error(cb) == EINPROGRESS {
                calls += 1
                _ = aio_suspend(&list, 1, nil)  // EINTR: just check again
            }
            let code = aio_error(cb)
            let bytes = aio_return(UnsafeMutablePointer(mutating: cb))
            if failure == nil && (code != 0 || bytes != ctx.blockSizeBytes) {
                let detail = code != 0 ? String(cString: strerror(code)) + " (errno \(code))"
                                       : "short read of \(bytes) bytes"
                failure = .readFailed(mode: .aio, read: i, offset: ctx.plan.offsets[i], detail: detail)
            }
        }
    }
    if let failure { throw failure }
    return RunSample(mode: .aio, run: run, measurement: measurement, calls: calls)
}
