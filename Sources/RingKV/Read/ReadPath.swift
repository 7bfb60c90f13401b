import RingIO

/// Point reads, batched multi-key reads and iterators (docs/ARCHITECTURE.md
/// §Read path and §Block cache and batched reads).
///
/// `multiGet` keys are sorted and deduplicated,
/// checked in the active and the immutable memtable, then resolved against
/// the tables in rounds: in each round every unresolved key walks its
/// remaining tables in search order (L0 newest first, then one table per
/// deeper level) — bloom filter, index, block cache — until it is resolved
/// by a cached block or needs a block that is not cached. All blocks the
/// round needs, across every table and level, are read with ONE
/// `readBatch`, decoded, cached (unless `fillCache` is false) and searched;
/// keys still unresolved go on to their next table in the next round.
/// Identical blocks are read once. A key whose bloom filters are accurate
/// needs one round wherever it lives, so a multiGet usually costs one
/// `readBatch`, and never more than the number of levels it visits.
extension DBImpl {
    /// What a read sees: the memtables and version current at one moment,
    /// and the sequence number it reads at.
    struct ReadView {
        /// The keyspace read (its seek charges go to it).
        var keyspace: KeyspaceData
        var mem: MemTable
        var imm: MemTable?
        var version: Version
        var sequence: SequenceNumber
        /// Put blocks this read loads into the block cache.
        var fillCache: Bool
        /// Table iterators prefetch their next window asynchronously.
        var asyncPrefetch = true
        /// Iterators: the user-key range they may read and yield.
        var bounds = IterationBounds.unbounded
        /// A TTL keyspace's expiry as of this view (TTL/): reads strip
        /// write times and hide expired values. nil: no ttl.
        var ttl: TTLExpiry?
    }

    /// The view of `keyspace` (the default one when nil). Throws
    /// `.keyspaceDropped` for a dropped keyspace: reads never create or
    /// revive one.
    func readView(_ options: ReadOptions, keyspace: KeyspaceData? = nil) throws(DBError) -> ReadView {
        mu.lock()
        defer { mu.unlock() }
        return try readViewLocked(options, keyspace: keyspace)
    }

    /// `readView` with `mu` held by the caller.
    func readViewLocked(_ options: ReadOptions, keyspace: KeyspaceData? = nil) throws(DBError) -> ReadView {
        mu.assertHeld()
        try checkOpenLocked()
        if let snapshot = options.snapshot {
            if !snapshot.isTaken(from: snapshots) {
                throw DBError.misuse("a snapshot of another database (or of an earlier open of this one)")
            }
            if snapshot.followerGeneration != followerGeneration {
                throw DBError.misuse("a follower's snapshot reads only until its next catchUp()")
            }
        }
        let keyspace = keyspace ?? defaultKeyspace
        let version: Version
        if keyspace === defaultKeyspace {
            version = versions.current
        } else {
            if let failure = keyspace.unavailableLocked(in: self, forWrite: false) { throw failure }
            guard let current = versions.current(keyspace: keyspace.id) else {
                throw DBError.keyspaceDropped(name: keyspace.name)
            }
            version = current
        }
        return readViewLocked(of: keyspace, version: version, sequence: options.snapshot?.sequence ?? lastSequence,
                              fillCache: options.fillCache, asyncPrefetch: options.asyncPrefetch,
                              bounds: IterationBounds(lower: options.lowerBound, upper: options.upperBound)
                                  .withFilterPrefix(length: keyspace.options.prefixFilterLength))
    }

    /// The view of `keyspace`'s memtables now and `version`, at `sequence`,
    /// with the ttl clock read now (`readViewLocked(_:keyspace:)` once the
    /// options are checked; a transaction's view). Caller holds `mu`.
    @inline(__always)
    func readViewLocked(of keyspace: KeyspaceData, version: Version, sequence: SequenceNumber, fillCache: Bool,
                        asyncPrefetch: Bool, bounds: IterationBounds) -> ReadView {
        ReadView(keyspace: keyspace, mem: keyspace.mem, imm: keyspace.imm, version: version, sequence: sequence,
                 fillCache: fillCache, asyncPrefetch: asyncPrefetch, bounds: bounds,
                 // (No copy of the options without a ttl: every read takes a view.)
                 ttl: keyspace.options.ttlNanos == nil ? nil : keyspace.options.ttlExpiryNow(keyspace: keyspace.name))
    }

    /// The single-key path (`PointLookup.swift`); the copy of the value is
    /// its one allocation.
    func get(_ key: [UInt8], options: ReadOptions, keyspace: KeyspaceData? = nil) throws(DBError) -> [UInt8]? {
        try key.withBytes { (key) throws(DBError) in try get(key, options: options, keyspace: keyspace) }
    }

    func get(_ key: UnsafeRawBufferPointer, options: ReadOptions,
             keyspace: KeyspaceData? = nil) throws(DBError) -> [UInt8]? {
        try withValue(forKey: key, options: options, keyspace: keyspace) { Array($0) }
    }

    func multiGet(_ keys: [[UInt8]], options: ReadOptions, keyspace: KeyspaceData? = nil) throws(DBError) -> [[UInt8]?] {
        let view = try readView(options, keyspace: keyspace)
        return try lookup(keys, view: view)
    }

    /// What one seek of an iterator over `view` charges (`chargeSeek`):
    /// every L0 table it merges, each of which the seek searches, when the
    /// iterator has another table source besides (`SeekCharge.iteratorSeek`);
    /// nil when none.
    func iteratorSeekCharge(for view: ReadView) -> (() -> Void)? {
        let level0 = view.version.files[0].filter { !view.bounds.excludes($0) }
        let deeper = (1..<Version.numLevels).filter { !view.version.files[$0].isEmpty }.count
        guard !level0.isEmpty, level0.count + deeper >= 2 else { return nil }
        let keyspace = view.keyspace
        return { [weak self] in
            guard let self else { return }
            for file in level0 { self.chargeSeek(file, level: 0, keyspace: keyspace, .iteratorSeek) }
        }
    }

    /// Every source of the view as internal iterators, newest first: the
    /// memtables, each L0 table, then one `LevelIterator` per deeper level
    /// (which opens only the table under its cursor). Table iterators read
    /// through the block cache with adaptive read-ahead (and asynchronous
    /// prefetch unless the read options turn it off), and stop before
    /// blocks and tables outside the view's bounds.
    func iterators(for view: ReadView) throws(DBError) -> [any InternalIterator] {
        var children: [any InternalIterator] = [view.mem.makeIterator()]
        if let imm = view.imm { children.append(imm.makeIterator()) }
        let open = { [tableCache, blockCache, stats] (file: FileMetaData) throws(DBError) -> TableIterator in
            try tableCache.reader(for: file.number).makeIterator(cache: blockCache, fillCache: view.fillCache,
                                                                 readAhead: .adaptive, prefetch: view.asyncPrefetch,
                                                                 bounds: view.bounds,
                                                                 blocksReadCounter: stats.iteratorBlocksRead,
                                                                 seekBatchCounter: stats.iteratorSeekBatches)
        }
        // An L0 table wholly outside the bounds holds nothing the iterator
        // may yield: it is not opened at all.
        for file in view.version.files[0] where !view.bounds.excludes(file) { children.append(try open(file)) }
        for level in 1..<Version.numLevels where !view.version.files[level].isEmpty {
            children.append(LevelIterator(files: view.version.files[level], bounds: view.bounds, open: open))
        }
        return children
    }

    // MARK: - The batched lookup

    /// The newest visible value of each key (nil: absent or deleted), in
    /// the order of `keys`. The async driver (`lookupAsync`,
    /// Read/AsyncReadPath.swift) runs the same rounds and reads each with
    /// `AsyncReadRing` instead.
    func lookup<Keys: RandomAccessCollection>(_ keys: Keys, view: ReadView) throws(DBError) -> [[UInt8]?]
    where Keys.Element == [UInt8], Keys.Index == Int {
        var state = startLookup(keys, view: view)
        defer { state.tally.publish(to: stats) }
        while let round = try nextRound(&state, view: view, exactReads: true) {
            let blocks = try round.readAll(backend: backend, cache: view.fillCache ? blockCache : nil)
            try settleRound(&state, blocks: blocks, view: view)
        }
        for slot in state.mergeSlots {
            let value = try state.key(slot).withBytes { (key) throws(DBError) in try resolveMerged(key, view: view) }
            state.setMerged(slot, value)
        }
        return try liveValues(state.values, view: view)
    }

    /// Sorts and deduplicates `keys` and answers what the memtables hold.
    func startLookup<Keys: RandomAccessCollection>(_ keys: Keys, view: ReadView) -> LookupState
    where Keys.Element == [UInt8], Keys.Index == Int {
        // Distinct keys in ascending order; `slotOfInput[i]` is key i's slot.
        var state = LookupState()
        state.slotOfInput = [Int](repeating: 0, count: keys.count)
        state.pending.reserveCapacity(keys.count)
        if keys.count == 1 {
            state.progress.append(KeyProgress(key: keys[keys.startIndex]))
        } else {
            state.progress.reserveCapacity(keys.count)
            let order = LookupKeyOrder.ascending(keys)
            for (n, entry) in order.enumerated() {
                if n == 0 || !LookupKeyOrder.equal(order[n - 1], entry, in: keys) {
                    state.progress.append(KeyProgress(key: keys[entry.index]))
                }
                state.slotOfInput[entry.index - keys.startIndex] = state.progress.count - 1
            }
        }
        for slot in state.progress.indices {
            state.progress[slot].hash = BloomHash.hash64(state.progress[slot].key)
            if !resolveInMemtables(&state.progress[slot], view: view) { state.pending.append(slot) }
        }
        return state
    }

    /// Walks every pending key on until it is resolved or needs a block
    /// that is not cached; returns the round reading those blocks, or nil
    /// when no key needs one. `exactReads` false puts every block into the
    /// round's one aligned plan (the async read needs all requests in one
    /// buffer). `openTables` false never opens a table (no I/O on the
    /// caller's thread): a key whose next table is not open is parked,
    /// the table's number goes to `state.tablesToOpen`, and the key stays
    /// pending until the caller opened it (`LookupState.opened`). The
    /// lookup is done when this returns nil with nothing to open.
    func nextRound(_ state: inout LookupState, view: ReadView, exactReads: Bool,
                   openTables: Bool = true) throws(DBError) -> LookupRound? {
        state.waiters.removeAll(keepingCapacity: true)
        if state.pending.isEmpty { return nil }
        let round = LookupRound(exactReads: exactReads, expectedBlocks: state.pending.count)
        var parked: [Int] = []
        state.waiters.reserveCapacity(state.pending.count)
        for slot in state.pending {
            switch try advance(&state.progress[slot], view: view, round: round, opened: state.opened,
                               openTables: openTables, tally: &state.tally) {
            case .resolved:
                break
            case .needsBlock(let table, let span):
                state.waiters.append((slot, table, span))
            case .needsTable(let number):
                parked.append(slot)
                if !state.tablesToOpen.contains(number) { state.tablesToOpen.append(number) }
            }
        }
        state.pending = parked
        return state.waiters.isEmpty ? nil : round
    }

    /// Searches the blocks a round read; keys still unresolved go on to
    /// their next table in the next round.
    func settleRound(_ state: inout LookupState, blocks: [Block], view: ReadView) throws(DBError) {
        stats.lookupReadBatches.add(1)
        stats.lookupBlocksRead.add(UInt64(blocks.count))
        for w in state.waiters
        where try !settle(&state.progress[w.slot], in: blocks[w.span], of: w.table, view: view, tally: &state.tally) {
            state.pending.append(w.slot)
        }
        state.waiters.removeAll(keepingCapacity: true)
    }

    /// Answers `p` from the memtables when they hold an entry for its key.
    private func resolveInMemtables(_ p: inout KeyProgress, view: ReadView) -> Bool {
        p.key.withUnsafeBytes { key in
            var answer = BlockSearchResult.notFound
            var memtable: MemTable? = view.mem
            while let current = memtable {
                p.covering = max(p.covering, current.rangeTombstones.coveringSequence(key, atOrBelow: view.sequence))
                answer = current.find(key, hash: p.hash, snapshot: view.sequence)
                    .applying(coveringSequence: p.covering)
                guard case .notFound = answer else { break }
                memtable = current === view.mem ? view.imm : nil
            }
            switch answer {
            case .found(let value, _):
                // The view holds the memtable, so the arena bytes are alive.
                p.value = Array(value)
                return true
            case .deleted:
                return true
            case .mergeOperand:
                p.needsMerge = true
                return true
            case .notFound:
                return false
            }
        }
    }

    /// Where a key's walk stopped in a round.
    private enum Step {
        /// Answered (or no table has it).
        case resolved
        /// Waits for a block read in the round: the table and span to search.
        case needsBlock(TableReader, Int)
        /// Its next table is not open (`openTables` false).
        case needsTable(UInt64)
    }

    /// Walks `p`'s remaining tables until the key is resolved by a cached
    /// block or needs a block read (then adds the read to `round`), or —
    /// with `openTables` false — reaches a table that is neither open nor
    /// in `opened` (then the key is parked on it).
    private func advance(_ p: inout KeyProgress, view: ReadView, round: LookupRound,
                         opened: [UInt64: TableReader], openTables: Bool,
                         tally: inout LookupTally) throws(DBError) -> Step {
        while let file = p.parked ?? p.nextTable(in: view.version) {
            p.parked = nil
            let table: TableReader
            if let known = tally.reader(file.number) {
                table = known
            } else if openTables {
                table = try tableCache.reader(for: file.number)
                tally.remember(table, file.number)
            } else if let ready = opened[file.number] {
                table = ready
            } else if let cached = try tableCache.cachedReader(for: file.number) {
                table = cached
                tally.remember(table, file.number)
            } else {
                p.parked = file
                return .needsTable(file.number)
            }
            tally.tableLookups += 1
            if table.hasRangeTombstones {
                p.covering = max(p.covering, p.key.withUnsafeBytes {
                    table.rangeTombstones.coveringSequence($0, atOrBelow: view.sequence)
                })
            }
            guard table.mayContain(userKeyHash: p.hash) else { continue }
            guard let handle = try p.key.withBytes({ (key) throws(DBError) in try table.locate(userKey: key, snapshot: view.sequence) })
            else { continue }
            let cacheKey = BlockCacheKey(fileNumber: file.number, blockOffset: handle.offset)
            if let block = blockCache.lookup(cacheKey) {
                if try settle(&p, in: block, of: table, view: view, tally: &tally) { return .resolved }
                continue
            }
            return .needsBlock(table, try round.span(for: cacheKey, handle: handle, of: table))
        }
        return .resolved
    }

    /// Searches `block` for `p`'s key; true when that resolved it.
    private func settle(_ p: inout KeyProgress, in block: Block, of table: TableReader, view: ReadView,
                        tally: inout LookupTally) throws(DBError) -> Bool {
        let covering = p.covering
        // The value is copied while the block is known to be alive.
        let result: TableLookupResult = try withExtendedLifetime(block) { () throws(DBError) in
            try p.key.withBytes { (key) throws(DBError) in
                switch try table.find(in: block.layout, blockOffset: block.fileOffset, userKey: key,
                                      snapshot: view.sequence).applying(coveringSequence: covering) {
                case .found(let value, _): return .found(Array(value))
                case .deleted: return .deleted
                case .mergeOperand: return .mergeOperand
                case .notFound: return .notFound
                }
            }
        }
        switch result {
        case .found(let value):
            tally.userBytesRead += UInt64(value.count)
            p.value = value
            return true
        case .deleted:
            return true
        case .mergeOperand:
            p.needsMerge = true
            return true
        case .notFound:
            return false
        }
    }
}

/// A batched lookup between rounds (`DBImpl.lookup`).
struct LookupState {
    fileprivate var progress: [KeyProgress] = []
    fileprivate var slotOfInput: [Int] = []
    /// Slots still unresolved, for the next round.
    fileprivate var pending: [Int] = []
    /// The keys waiting on the current round: slot, table, span.
    fileprivate var waiters: [(slot: Int, table: TableReader, span: Int)] = []
    /// Tables parked keys wait for (`nextRound` with `openTables` false);
    /// the caller opens them and adds them to `opened`.
    var tablesToOpen: [UInt64] = []
    /// Tables the caller opened for this lookup, used before the table
    /// cache (which may have evicted them again meanwhile).
    var opened: [UInt64: TableReader] = [:]
    /// Tables met so far and counts for `stats`, added once at the end.
    var tally = LookupTally()

    /// The answers, in the order of the lookup's keys.
    var values: [[UInt8]?] { slotOfInput.map { progress[$0].value } }

    /// Slots whose newest entry is a merge operand: the lookup folds them
    /// (`DBImpl.resolveMerged`) once the rounds are done.
    var mergeSlots: [Int] { progress.indices.filter { progress[$0].needsMerge } }
    func key(_ slot: Int) -> [UInt8] { progress[slot].key }
    mutating func setMerged(_ slot: Int, _ value: [UInt8]) {
        progress[slot].value = value
        progress[slot].needsMerge = false
    }
}

/// One distinct user key of a lookup and where its search stands.
private struct KeyProgress {
    let key: [UInt8]
    /// `BloomHash.hash64(key)`, computed once for every filter probe.
    var hash: UInt64 = 0
    var value: [UInt8]?
    /// The newest visible entry is a merge operand (`LookupState.mergeSlots`).
    var needsMerge = false
    /// The largest visible range tombstone covering `key` seen so far.
    var covering: SequenceNumber = 0
    /// The table the key waits for to be opened; tried before `nextTable`.
    var parked: FileMetaData?
    /// The next table to try: level, and in L0 the next index (newest first).
    private var level = 0
    private var l0Index = 0

    init(key: [UInt8]) { self.key = key }

    /// The next table in search order whose key range holds the key.
    mutating func nextTable(in version: Version) -> FileMetaData? {
        key.withUnsafeBytes { key in
            if level == 0 {
                let l0 = version.files[0]
                while l0Index < l0.count {
                    let f = l0[l0Index]
                    l0Index += 1
                    if f.contains(userKey: key) { return f }
                }
                level = 1
            }
            while level < Version.numLevels {
                let f = version.fileContaining(level: level, userKey: key)
                level += 1
                if let f { return f }
            }
            return nil
        }
    }
}
