import RingIO

/// The async read path (docs/ARCHITECTURE.md §Async API). The walk is the
/// batched lookup's (DB/ReadPath.swift: memtables, then rounds over the
/// tables with filters, index and block cache); only a round's block
/// fetch differs: its blocks go to `AsyncReadRing.shared` and the task
/// suspends until the ring's completion thread resumes it. Memtable and
/// cache hits finish without suspending.
///
/// A database whose backend is not io_uring (the POSIX fallback, the
/// test-only FaultPlan) runs the synchronous path on `BlockingWorkPool`
/// instead, so its faults and fallbacks apply and still no cooperative
/// thread blocks.
extension DBImpl {
    /// The ring async reads go through; nil when they run on the pool.
    var asyncReadRing: AsyncReadRing? {
        backend is URingBackend ? AsyncReadRing.shared : nil
    }

    /// `multiGet` (and `get`, as a one-key lookup) that suspends on block
    /// reads. Throws `CancellationError` when the task is cancelled before
    /// it starts or before a round's reads are submitted.
    func lookupAsync(_ keys: [[UInt8]], options: ReadOptions) async throws -> [[UInt8]?] {
        try Task.checkCancellation()
        guard let ring = asyncReadRing else {
            return try await BlockingWorkPool.shared.run { [self] in
                try reading { try multiGet(keys, options: options) }
            }
        }
        let view = try readView(options)
        var state = startLookup(keys, view: view)
        while let round = try nextRound(&state, view: view, exactReads: false) {
            let blocks = try await round.readAllAsync(ring: ring, cache: view.fillCache ? blockCache : nil)
            try settleRound(&state, blocks: blocks, view: view)
        }
        return state.values
    }
}
