import RingIO

/// What every mode gets: the open file, the plan, and the destination
/// (read i lands at `buffer + i * blockSizeBytes`).
struct BenchContext {
    let file: File
    let plan: ReadPlan
    let buffer: UnsafeMutableRawPointer
    /// Most reads in flight at once for the io_uring modes.
    let queueDepth: Int
    /// Worker threads for `threads` (and glibc's aio helper pool).
    let threads: Int
    let sqPollIdleMillis: Int

    var fd: Int32 { file.fd }
    var count: Int { plan.count }
    var blockSizeBytes: Int { plan.blockSizeBytes }

    @inline(__always)
    func slot(_ i: Int) -> UnsafeMutableRawPointer { buffer + i * plan.blockSizeBytes }
}
