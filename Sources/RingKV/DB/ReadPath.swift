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
    }

    func readView(_ options: ReadOptions) throws -> ReadView {
        mu.lock()
        defer { mu.unlock() }
        try checkOpen()
        return ReadView(mem: mem, imm: imm, version: versions.current,
                        sequence: options.snapshot?.sequence ?? lastSequence, fillCache: options.fillCache,
                        asyncPrefetch: options.asyncPrefetch,
                        bounds: IterationBounds(lower: options.lowerBound, upper: options.upperBound))
    }

    /// The single-key path (`PointLookup.swift`); the copy of the value is
    /// its one allocation.
    func get(_ key: [UInt8], options: ReadOptions) throws -> [UInt8]? {
        try key.withUnsafeBytes { key in try withValue(forKey: key, options: options) { Array($0) } }
    }

    func multiGet(_ keys: [[UInt8]], options: ReadOptions) throws -> [[UInt8]?] {
        let view = try readView(options)
        return try lookup(keys, view: view)
    }

    /// Every source of the view as internal iterators, newest first: the
    /// memtables, each L0 table, then one `LevelIterator` per deeper level
    /// (which opens only the table under its cursor). Table iterators read
    /// through the block cache with adaptive read-ahead (and asynchronous
    /// prefetch unless the read options turn it off), and stop before
    /// blocks and tables outside the view's bounds.
    /// What one seek of an iterator over `view` charges (`chargeSeek`):
    /// every L0 table it merges, each of which the seek searches, when the
    /// iterator has another table source besides; nil when none.
    func iteratorSeekCharge(for view: ReadView) -> (() -> Void)? {
        let level0 = view.version.files[0].filter { !view.bounds.excludes($0) }
        let deeper = (1..<Version.numLevels).filter { !view.version.files[$0].isEmpty }.count
        guard !level0.isEmpty, level0.count + deeper >= 2 else { return nil }
        return { [weak self] in
            guard let self else { return }
            for file in level0 { self.chargeSeek(file, level: 0) }
        }
    }

    func iterators(for view: ReadView) throws -> [any InternalIterator] {
        var children: [any InternalIterator] = [view.mem.makeIterator()]
        if let imm = view.imm { children.append(imm.makeIterator()) }
        let open = { [tableCache, blockCache, stats] (file: FileMetaData) throws -> TableIterator in
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
    /// DB/AsyncReadPath.swift) runs the same rounds and reads each with
    /// `AsyncReadRing` instead.
    func lookup<Keys: RandomAccessCollection>(_ keys: Keys, view: ReadView) throws -> [[UInt8]?]
    where Keys.Element == [UInt8], Keys.Index == Int {
        var state = startLookup(keys, view: view)
        while let round = try nextRound(&state, view: view, exactReads: true) {
            let blocks = try round.readAll(backend: backend, cache: view.fillCache ? blockCache : nil)
            try settleRound(&state, blocks: blocks, view: view)
        }
        return state.values
    }

    /// Sorts and deduplicates `keys` and answers what the memtables hold.
    func startLookup<Keys: RandomAccessCollection>(_ keys: Keys, view: ReadView) -> LookupState
    where Keys.Element == [UInt8], Keys.Index == Int {
        // Distinct keys in ascending order; `slotOfInput[i]` is key i's slot.
        var state = LookupState()
        state.slotOfInput = [Int](repeating: 0, count: keys.count)
        if keys.count == 1 {
            state.progress.append(KeyProgress(key: keys[keys.startIndex]))
        } else {
            state.progress.reserveCapacity(keys.count)
            let order = keys.indices.sorted { compareBytes(keys[$0], keys[$1]) < 0 }
            for i in order {
                if state.progress.last?.key != keys[i] { state.progress.append(KeyProgress(key: keys[i])) }
                state.slotOfInput[i - keys.startIndex] = state.progress.count - 1
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
    /// when no key needs one (the lookup is done). `exactReads` false puts
    /// every block into the round's one aligned plan (the async read needs
    /// all requests in one buffer).
    func nextRound(_ state: inout LookupState, view: ReadView, exactReads: Bool) throws -> LookupRound? {
        state.waiters.removeAll(keepingCapacity: true)
        if state.pending.isEmpty { return nil }
        let round = LookupRound(exactReads: exactReads)
        for slot in state.pending {
            if let (table, span) = try advance(&state.progress[slot], view: view, round: round) {
                state.waiters.append((slot, table, span))
            }
        }
        state.pending.removeAll(keepingCapacity: true)
        return state.waiters.isEmpty ? nil : round
    }

    /// Searches the blocks a round read; keys still unresolved go on to
    /// their next table in the next round.
    func settleRound(_ state: inout LookupState, blocks: [Block], view: ReadView) throws {
        stats.lookupReadBatches.add(1)
        stats.lookupBlocksRead.add(UInt64(blocks.count))
        for w in state.waiters where try !settle(&state.progress[w.slot], in: blocks[w.span], of: w.table, view: view) {
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
            case .notFound:
                return false
            }
        }
    }

    /// Walks `p`'s remaining tables until the key is resolved by a cached
    /// block or needs a block read: then adds the read to `round` and
    /// returns the table and span to search once it is done. Returns nil
    /// when the key is resolved (or no table has it: `p` stays nil-valued).
    private func advance(_ p: inout KeyProgress, view: ReadView,
                         round: LookupRound) throws -> (TableReader, Int)? {
        while let file = p.nextTable(in: view.version) {
            stats.tableLookups.add(1)
            let table = try tableCache.reader(for: file.number)
            if table.hasRangeTombstones {
                p.covering = max(p.covering, p.key.withUnsafeBytes {
                    table.rangeTombstones.coveringSequence($0, atOrBelow: view.sequence)
                })
            }
            guard table.mayContain(userKeyHash: p.hash) else { continue }
            guard let handle = try p.key.withUnsafeBytes({ try table.locate(userKey: $0, snapshot: view.sequence) })
            else { continue }
            let cacheKey = BlockCacheKey(fileNumber: file.number, blockOffset: handle.offset)
            if let block = blockCache.lookup(cacheKey) {
                if try settle(&p, in: block, of: table, view: view) { return nil }
                continue
            }
            return (table, try round.span(for: cacheKey, handle: handle, of: table))
        }
        return nil
    }

    /// Searches `block` for `p`'s key; true when that resolved it.
    private func settle(_ p: inout KeyProgress, in block: Block, of table: TableReader, view: ReadView) throws -> Bool {
        let covering = p.covering
        // The value is copied while the block is known to be alive.
        let result: TableLookupResult = try withExtendedLifetime(block) {
            try p.key.withUnsafeBytes {
                switch try table.find(in: block.layout, blockOffset: block.fileOffset, userKey: $0,
                                      snapshot: view.sequence).applying(coveringSequence: covering) {
                case .found(let value, _): return .found(Array(value))
                case .deleted: return .deleted
                case .notFound: return .notFound
                }
            }
        }
        switch result {
        case .found(let value):
            stats.userBytesRead.add(UInt64(value.count))
            p.value = value
            return true
        case .deleted:
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

    /// The answers, in the order of the lookup's keys.
    var values: [[UInt8]?] { slotOfInput.map { progress[$0].value } }
}

/// One distinct user key of a lookup and where its search stands.
private struct KeyProgress {
    let key: [UInt8]
    /// `BloomHash.hash64(key)`, computed once for every filter probe.
    var hash: UInt64 = 0
    var value: [UInt8]?
    /// The largest visible range tombstone covering `key` seen so far.
    var covering: SequenceNumber = 0
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
