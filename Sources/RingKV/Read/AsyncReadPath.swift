import RingIO

/// The async read path (docs/ARCHITECTURE.md §Async API). The walk is the
/// batched lookup's (Read/ReadPath.swift: memtables, then rounds over the
/// tables with filters, index and block cache); only a round's block
/// fetch differs: its blocks go to `AsyncReadRing.shared` and the task
/// suspends until the ring's completion thread resumes it. Memtable and
/// cache hits finish without suspending. A table that is not open yet is
/// opened on a `BlockingWorkPool` thread while the task suspends (its
/// footer, index and filter reads are blocking reads).
///
/// A database whose backend is not io_uring (the POSIX fallback, or one
/// a test wrapped through `Options.ioSeam`) runs the synchronous path on
/// `BlockingWorkPool` instead, so the wrapper and the fallback apply and
/// still no cooperative thread blocks.
extension DBImpl {
    /// The ring async reads go through; nil when they run on the pool.
    var asyncReadRing: AsyncReadRing? {
        backend is URingBackend ? AsyncReadRing.shared : nil
    }

    /// `multiGet` (and `get`, as a one-key lookup) that suspends on block
    /// reads. Throws `CancellationError` when the task is cancelled before
    /// it starts or before a round's reads are submitted.
    func lookupAsync(_ keys: [[UInt8]], options: ReadOptions, keyspace: KeyspaceData? = nil) async throws -> [[UInt8]?] {
        try Task.checkCancellation()
        guard let ring = asyncReadRing else {
            return try await BlockingWorkPool.shared.run { [self] in
                try reading { try multiGet(keys, options: options, keyspace: keyspace) }
            }
        }
        let view = try readView(options, keyspace: keyspace)
        var state = startLookup(keys, view: view)
        defer { state.tally.publish(to: stats) }
        while true {
            let round = try nextRound(&state, view: view, exactReads: false, openTables: false)
            if let round {
                let blocks = try await round.readAllAsync(ring: ring, cache: view.fillCache ? blockCache : nil)
                try settleRound(&state, blocks: blocks, view: view)
            }
            if !state.tablesToOpen.isEmpty {
                let numbers = state.tablesToOpen
                state.tablesToOpen.removeAll()
                let readers = try await BlockingWorkPool.shared.run { [tableCache] in
                    try numbers.map { try tableCache.reader(for: $0) }
                }
                for (number, reader) in zip(numbers, readers) { state.opened[number] = reader }
            } else if round == nil {
                let slots = state.mergeSlots
                if !slots.isEmpty {
                    // Operands fold on the blocking pool (their versions
                    // may span several tables).
                    let keys = slots.map { state.key($0) }
                    let values = try await BlockingWorkPool.shared.run { [self] in
                        try reading { () throws(DBError) in try keys.map { (k) throws(DBError) in
                            try k.withBytes { (k) throws(DBError) in try resolveMerged(k, view: view) }
                        } }
                    }
                    for (slot, value) in zip(slots, values) { state.setMerged(slot, value) }
                }
                return try liveValues(state.values, view: view)
            }
        }
    }
}

/// The async single-key path: `withValue`'s walk (PointLookup.swift:
/// memtables, L0 newest first, one table per deeper level; filter, index,
/// cache via the same `memtableAnswer`, `locateBlock` and `answer`) with
/// the one block fetch that differs — a cache miss reads its block through
/// the ring and suspends.
///
/// The walk itself is `AsyncGetWalk` (AsyncGetWalk.swift), synchronous
/// steps between the suspensions; this function only awaits what a step
/// asks for (a table to open, a block to read). Its async frame, which
/// every suspended get keeps in its task's allocator, stays small: the
/// walk's temporaries live on the thread's stack (the frame was 1,680
/// bytes with the walk inlined here — a malloc'd allocator slab per get).
extension DBImpl {
    func getAsync(_ key: [UInt8], options: ReadOptions, keyspace: KeyspaceData? = nil) async throws -> [UInt8]? {
        try Task.checkCancellation()
        guard let ring = asyncReadRing else { return try await getOnPool(key, options: options, keyspace: keyspace) }
        let walk = try AsyncGetWalk(self, key: key, options: options, keyspace: keyspace)
        var opened: TableReader?
        while true {
            let step = try walk.next(self, opened: opened)
            opened = nil
            switch step {
            case .answer(let answer):
                return try await settledAsync(answer, walk: walk)
            case .absent:
                return nil
            case .open(let fileNumber):
                opened = try await openTableAsync(fileNumber)
            case .read(let location):
                let block = try await location.table.readBlockAsync(location.handle, ring: ring)
                if let answer = try walk.found(self, block: block, at: location) {
                    return try await settledAsync(answer, walk: walk)
                }
            }
        }
    }

    // The rare paths are async functions of their own (not inlined): their
    // frames exist only while they run, not in every get's.

    /// A database without io_uring: the synchronous get on the blocking pool.
    @inline(never)
    private func getOnPool(_ key: [UInt8], options: ReadOptions, keyspace: KeyspaceData?) async throws -> [UInt8]? {
        try await BlockingWorkPool.shared.run { [self] in
            try reading { try get(key, options: options, keyspace: keyspace) }
        }
    }

    /// A table not open yet, opened on the blocking pool.
    @inline(never)
    private func openTableAsync(_ fileNumber: UInt64) async throws -> TableReader {
        try await tableCache.readerAsync(for: fileNumber)
    }

    /// The value `answer` gives; a key whose newest entry is a merge
    /// operand is folded on the blocking pool (its versions may span
    /// several tables).
    private func settledAsync(_ answer: Answer<[UInt8]>, walk: AsyncGetWalk) async throws -> [UInt8]? {
        guard answer.needsMerge else { return try walk.value(of: answer, self) }
        return try await mergedAsync(walk)
    }

    @inline(never)
    private func mergedAsync(_ walk: AsyncGetWalk) async throws -> [UInt8]? {
        let key = walk.key
        let view = walk.view
        return try await BlockingWorkPool.shared.run { [self] in
            try reading { try key.withBytes { (k) throws(DBError) in try resolveMerged(k, view: view) } }
        }
    }
}
