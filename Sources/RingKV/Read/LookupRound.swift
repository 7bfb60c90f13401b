import RingIO

/// The cache-missing blocks of one round of a batched lookup (`multiGet`,
/// ReadPath.swift), deduplicated, read with ONE `readBatch` across
/// every table they come from.
///
/// A block of a buffered file is read at its exact bytes into memory of
/// its own, which becomes the cached block (no copy; a shared page-aligned
/// buffer for a whole batch was large enough for glibc to mmap it, and
/// every batch paid its page faults). Blocks of O_DIRECT files go into an
/// `AlignedReadPlan` (whole pages, page-aligned memory). When a round has
/// both kinds (tables that fell back to buffered reads) each kind takes
/// its own `readBatch`.
///
/// Memory rule: a read's memory is freed only once the batch returned; if
/// the batch itself failed (the ring broke, so what the kernel still has
/// in flight is unknown), the memory of its exact reads is leaked on
/// purpose rather than freed under the kernel.
final class LookupRound {
    // @exclusivity(unchecked): a round is used by one lookup on one thread
    // and no method of it calls back into another while holding an
    // access; the dynamic checks cost ~200 instructions per key in
    // `multiGet` of 32 (callgrind).
    @exclusivity(unchecked) private var plan = AlignedReadPlan()
    /// Exact reads of buffered files, in the order they were added; their
    /// memory is owned here until handed to `finishExactRead`.
    @exclusivity(unchecked) private var exact: [ReadRequest] = []
    /// Exact reads from this index on still own their memory.
    @exclusivity(unchecked) private var firstOwned = 0
    /// The batch of exact reads failed: never free their memory.
    @exclusivity(unchecked) private var leakExact = false
    @exclusivity(unchecked) private var spanOfBlock: BlockSpanTable
    /// Per span: its table, cache key and handle, and its place in `plan`
    /// (isExact false) or in `exact`.
    @exclusivity(unchecked) private var sources: [Source] = []
    /// Buffered files' blocks are read into memory of their own; false puts
    /// every block into `plan` (one buffer: what `AsyncReadRing` needs).
    private let exactReads: Bool

    /// One span (a struct, not a tuple: see `DBImpl.BlockLocation`).
    private struct Source {
        let table: TableReader
        let key: BlockCacheKey
        let handle: BlockHandle
        let place: Int
        let isExact: Bool
    }

    /// `expectedBlocks`: how many blocks the round may read at most (its
    /// keys), to size its tables once.
    init(exactReads: Bool = true, expectedBlocks: Int = 0) {
        self.exactReads = exactReads
        spanOfBlock = BlockSpanTable(expected: expectedBlocks)
        sources.reserveCapacity(expectedBlocks)
        if exactReads { exact.reserveCapacity(expectedBlocks) }
    }

    deinit {
        guard !leakExact else { return }
        for i in firstOwned..<exact.count {
            BlockMemory.free(BlockMemory.allocation(at: exact[i].buffer, minimumBytes: exact[i].length))
        }
    }

    /// The span that reads `handle` of `table`, planned on first request.
    func span(for key: BlockCacheKey, handle: BlockHandle, of table: TableReader) throws(DBError) -> Int {
        if let span = spanOfBlock.span(of: key) { return span }
        if table.file.isDirect || !exactReads {
            let place = try table.planRead(handle, into: &plan)
            sources.append(Source(table: table, key: key, handle: handle, place: place, isExact: false))
        } else {
            exact.append(try table.exactRead(handle))
            sources.append(Source(table: table, key: key, handle: handle, place: exact.count - 1, isExact: true))
        }
        spanOfBlock.insert(key, span: sources.count - 1)
        return sources.count - 1
    }

    /// Reads every block (one `readBatch` per kind present), verifies and
    /// decodes each, and caches them in `cache` when given. Blocks in span
    /// order.
    func readAll(backend: any IOBackend, cache: BlockCache?) throws(DBError) -> [Block] {
        let planned = plan.isEmpty ? nil : try plan.execute(backend: backend)
        return try finish(planned, backend: backend, cache: cache)
    }

    /// `readAll` that suspends on `ring` instead of blocking. The round
    /// must have been made with `exactReads` false (one plan, one batch).
    func readAllAsync(ring: AsyncReadRing, cache: BlockCache?) async throws -> [Block] {
        precondition(exact.isEmpty, "an async round reads every block through its plan")
        let planned = plan.isEmpty ? nil : try await plan.executeAsync(ring: ring)
        return try decodeAll(planned, cache: cache)
    }

    private func finish(_ planned: AlignedReadResult?, backend: any IOBackend, cache: BlockCache?) throws(DBError) -> [Block] {
        if !exact.isEmpty {
            do throws(IOError) {
                if exact.count == 1 {
                    try IOBackends.readAlone(&exact[0], backend: backend, direct: false)
                } else {
                    try backend.readBatch(&exact)
                }
            } catch {
                leakExact = true
                throw DBError.io(error)
            }
        }
        return try decodeAll(planned, cache: cache)
    }

    /// Verifies, decodes and caches every span once its bytes are read.
    private func decodeAll(_ planned: AlignedReadResult?, cache: BlockCache?) throws(DBError) -> [Block] {
        var blocks: [Block] = []
        blocks.reserveCapacity(sources.count)
        for source in sources {
            let block: Block
            if source.isExact {
                // Exact reads are added, so finished, in increasing order.
                precondition(source.place == firstOwned, "exact reads are decoded in the order they were added")
                firstOwned += 1
                block = try source.table.finishExactRead(exact[source.place], source.handle)
            } else if let planned {
                block = try source.table.decodeBlock(planned, span: source.place)
            } else {
                preconditionFailure("a planned span without an executed plan")
            }
            cache?.insert(source.key, block)
            blocks.append(block)
        }
        return blocks
    }
}
