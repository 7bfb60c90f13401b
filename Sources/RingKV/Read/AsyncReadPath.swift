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
extension DBImpl {
    func getAsync(_ key: [UInt8], options: ReadOptions, keyspace: KeyspaceData? = nil) async throws -> [UInt8]? {
        try Task.checkCancellation()
        guard let ring = asyncReadRing else {
            return try await BlockingWorkPool.shared.run { [self] in
                try reading { try get(key, options: options, keyspace: keyspace) }
            }
        }
        let view = try readView(options, keyspace: keyspace)
        // Range tombstones over `key` seen so far (see `withValue`).
        var covering: SequenceNumber = 0
        let hash = key.withUnsafeBytes { BloomHash.hash64($0) }
        // A key whose newest entry is a merge operand is folded on the
        // blocking pool (its versions may span several tables).
        func settled(_ answer: Answer<[UInt8]>) async throws -> [UInt8]? {
            guard answer.needsMerge else { return try liveValue(answer.value, view: view) }
            return try await BlockingWorkPool.shared.run { [self] in
                try reading { try key.withBytes { (k) throws(DBError) in try resolveMerged(k, view: view) } }
            }
        }
        if let answer = try key.withUnsafeBytes({
            try memtableAnswer($0, hash: hash, view: view, covering: &covering, { Array($0) })
        }) {
            return try await settled(answer)
        }
        let version = view.version
        for file in version.files[0] where key.withUnsafeBytes({ file.contains(userKey: $0) }) {
            if let answer = try await probeAsync(file, key: key, hash: hash, view: view, ring: ring,
                                                 covering: &covering) { return try await settled(answer) }
        }
        for level in 1..<Version.numLevels {
            guard let file = key.withUnsafeBytes({ version.fileContaining(level: level, userKey: $0) }) else { continue }
            if let answer = try await probeAsync(file, key: key, hash: hash, view: view, ring: ring,
                                                 covering: &covering) { return try await settled(answer) }
        }
        return nil
    }

    /// `probe` (PointLookup.swift) with an async block read.
    private func probeAsync(_ file: FileMetaData, key: [UInt8], hash: UInt64, view: ReadView,
                            ring: AsyncReadRing, covering: inout SequenceNumber) async throws -> Answer<[UInt8]>? {
        let table = try await tableCache.readerAsync(for: file.number)
        var tombstones = covering
        guard let location = try key.withUnsafeBytes({
            try locateBlock(file, in: table, key: $0, hash: hash, view: view, covering: &tombstones)
        }) else {
            covering = tombstones
            return nil
        }
        covering = tombstones
        let block: Block
        if let hit = cachedBlock(location) {
            block = hit
        } else {
            block = try await location.table.readBlockAsync(location.handle, ring: ring)
            if view.fillCache { blockCache.insert(location.cacheKey, block) }
        }
        return try key.withUnsafeBytes { try answer(in: block, at: location, key: $0, view: view, covering: tombstones, { Array($0) }) }
    }
}
