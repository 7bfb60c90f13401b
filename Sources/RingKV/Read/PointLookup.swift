import RingIO

/// The single-key read path behind `get` and `withValue` (docs/ARCHITECTURE.md
/// §Read path): the same search order and answers as the batched
/// `lookup` (`multiGet`), without its per-call bookkeeping — no arrays, no
/// dictionary, no read plan; the key is hashed once, index and data blocks
/// are searched with cursors on the stack and keys compared in place, and a
/// found value is lent where it lies (memtable arena or block memory).
///
/// A cache miss reads the one block it needs with one aligned read. Blocks
/// read with `fillCache` false are searched in freshly decoded memory that
/// is freed afterwards (no `Block` object).
extension DBImpl {
    /// `withValue` for the public API: counted as a read (close waits for
    /// it), with a body that may throw. The engine's path throws only
    /// DBError and takes a body that does not: the body's own error is
    /// carried around it and rethrown.
    func withValueRethrowing<Key: KeyValueBytes, R>(forKey key: Key, options: ReadOptions, keyspace: KeyspaceData?,
                                                    _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var bodyError: (any Error)?
        let result = try reading { () throws(DBError) in
            try key.withKeyValueBytes { (key) throws(DBError) in
                try withValue(forKey: key, options: options, keyspace: keyspace) { (value) -> R? in
                    do { return try body(value) } catch {
                        bodyError = error
                        return nil
                    }
                }
            }
        }
        if let bodyError { throw bodyError }
        return result ?? nil
    }

    /// Runs `body` over the newest visible value of `key` (nil: absent or
    /// deleted). `body` does not throw: `DB.withValue` carries the
    /// caller's errors around this typed path. The bytes stay valid during `body` only: the view holds
    /// the memtables and the version (so every table of the version stays
    /// on disk and open), and a block it reads from is held by this call
    /// even if the cache evicts it meanwhile.
    func withValue<R>(forKey key: UnsafeRawBufferPointer, options: ReadOptions, keyspace: KeyspaceData? = nil,
                      _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> R? {
        try withValue(forKey: key, view: try readView(options, keyspace: keyspace), body)
    }

    /// `withValue` through a view the caller already holds (a
    /// transaction's, taken with its snapshot: Transaction.swift). In a
    /// TTL keyspace TTL/TTLReads.swift wraps `body`: the stamp is stripped
    /// and an expired value reads as absent. `hash`: the key's
    /// `BloomHash.hash64` when the caller already has it.
    func withValue<R>(forKey key: UnsafeRawBufferPointer, hash: UInt64? = nil, view: ReadView,
                      _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> R? {
        let hash = hash ?? BloomHash.hash64(key)
        guard let ttl = view.ttl else { return try withStoredValue(forKey: key, hash: hash, view: view, body) }
        return try withLiveValue(ttl, body) { (inner) throws(DBError) in
            try withStoredValue(forKey: key, hash: hash, view: view, inner)
        }
    }

    /// The value stored for `key` (hashed: `hash`) in `view` (with its
    /// TTL stamp, if any).
    private func withStoredValue<R>(forKey key: UnsafeRawBufferPointer, hash: UInt64, view: ReadView,
                      _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> R? {
        // A newest entry that is a merge operand: fold the key's versions.
        func settled(_ answer: Answer<R>) throws(DBError) -> R? {
            guard answer.needsMerge else { return answer.value }
            let value = try resolveMerged(key, view: view)
            return value.withUnsafeBytes { body($0) }
        }
        // The largest visible range tombstone covering `key` so far
        // (RangeDeletionLookup.swift): newer sources are asked first, and
        // an entry below it in an older source is deleted.
        var covering: SequenceNumber = 0
        if let answer = try memtableAnswer(key, hash: hash, view: view, covering: &covering, body) {
            return try settled(answer)
        }
        let version = view.version
        var seeks = SeekTracker()
        defer { seeks.charge(self, keyspace: view.keyspace) }
        for file in version.files[0] where file.contains(userKey: key) {
            if let answer = try probe(file, level: 0, key: key, hash: hash, view: view, covering: &covering,
                                      seeks: &seeks, body) {
                return try settled(answer)
            }
        }
        for level in 1..<Version.numLevels {
            guard let file = version.fileContaining(level: level, userKey: key) else { continue }
            if let answer = try probe(file, level: level, key: key, hash: hash, view: view, covering: &covering,
                                      seeks: &seeks, body) {
                return try settled(answer)
            }
        }
        return nil
    }

    /// The tables one get searched past its filter, as LevelDB counts
    /// seeks: when it searched two or more, the first one was searched in
    /// vain and is charged (`chargeSeek`). Tables a filter ruled out cost
    /// no read and are not counted.
    struct SeekTracker {
        private var first: (file: FileMetaData, level: Int)?
        private var searched = 0

        mutating func searched(_ file: FileMetaData, level: Int) {
            if searched == 0 { first = (file, level) }
            searched += 1
        }

        func charge(_ db: DBImpl, keyspace: KeyspaceData) {
            if searched >= 2, let first { db.chargeSeek(first.file, level: first.level, keyspace: keyspace) }
        }
    }

    /// A table's final answer: the body's result, or nil for a deletion;
    /// `needsMerge`: the newest entry is a merge operand, which the caller
    /// folds (`resolveMerged`) — the body was not called.
    struct Answer<R> {
        var value: R?
        var needsMerge = false
    }

    /// The memtables' answer for `key` (nil: neither holds an entry).
    /// Raises `covering` by the memtables' range tombstones over `key`.
    func memtableAnswer<R>(_ key: UnsafeRawBufferPointer, hash: UInt64, view: ReadView,
                           covering: inout SequenceNumber,
                           _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> Answer<R>? {
        // No array of the two memtables: this runs on every get.
        if let answer = try memtableAnswer(view.mem, key, hash: hash, view: view, covering: &covering, body) {
            return answer
        }
        if let imm = view.imm {
            return try memtableAnswer(imm, key, hash: hash, view: view, covering: &covering, body)
        }
        return nil
    }

    private func memtableAnswer<R>(_ memtable: MemTable, _ key: UnsafeRawBufferPointer, hash: UInt64,
                                   view: ReadView, covering: inout SequenceNumber,
                                   _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> Answer<R>? {
        covering = max(covering, memtable.rangeTombstones.coveringSequence(key, atOrBelow: view.sequence))
        switch memtable.find(key, hash: hash, snapshot: view.sequence).applying(coveringSequence: covering) {
        case .found(let value, _): return Answer(value: withExtendedLifetime(view) { body(value) })
        case .deleted: return Answer(value: nil)
        case .mergeOperand: return Answer(value: nil, needsMerge: true)
        case .notFound: return nil
        }
    }

    /// Where `file` may hold `key`: its reader, and the data block to
    /// search (after the filter and the index); nil when it holds no entry.
    /// Raises `covering` by the table's range tombstones over `key` first
    /// (they apply to older tables even when this one holds no entry).
    func locateBlock(_ file: FileMetaData, key: UnsafeRawBufferPointer, hash: UInt64,
                     view: ReadView, covering: inout SequenceNumber) throws(DBError) -> BlockLocation? {
        try locateBlock(file, in: try tableCache.reader(for: file.number), key: key, hash: hash, view: view,
                        covering: &covering)
    }

    /// `locateBlock` in `table`, the open reader of `file`.
    func locateBlock(_ file: FileMetaData, in table: TableReader, key: UnsafeRawBufferPointer, hash: UInt64,
                     view: ReadView, covering: inout SequenceNumber) throws(DBError) -> BlockLocation? {
        stats.tableLookups.add(1)
        if table.hasRangeTombstones {
            covering = max(covering, table.rangeTombstones.coveringSequence(key, atOrBelow: view.sequence))
        }
        guard table.mayContain(userKeyHash: hash) else { return nil }
        guard let handle = try table.locate(userKey: key, snapshot: view.sequence) else { return nil }
        return BlockLocation(table: table, handle: handle,
                             cacheKey: BlockCacheKey(fileNumber: file.number, blockOffset: handle.offset))
    }

    /// A table and the data block of it that may hold a key (a struct, not
    /// a tuple: unspecialized code looks tuple metadata up at run time).
    struct BlockLocation {
        let table: TableReader
        let handle: BlockHandle
        let cacheKey: BlockCacheKey
    }

    /// Looks `key` up in one table: filter, index, block (cache, else one
    /// read), search. nil when the table has no visible entry for the key.
    private func probe<R>(_ file: FileMetaData, level: Int, key: UnsafeRawBufferPointer, hash: UInt64, view: ReadView,
                          covering: inout SequenceNumber, seeks: inout SeekTracker,
                          _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> Answer<R>? {
        guard let location = try locateBlock(file, key: key, hash: hash, view: view, covering: &covering)
        else { return nil }
        seeks.searched(file, level: level)
        let covering = covering
        let block: Block
        if let hit = cachedBlock(location) {
            block = hit
        } else {
            guard view.fillCache else {
                return try location.table.withBlockRead(location.handle) { (layout) throws(DBError) in
                    try answer(location.table.find(in: layout, blockOffset: location.handle.offset, userKey: key,
                                                   snapshot: view.sequence).applying(coveringSequence: covering), body)
                }
            }
            block = try location.table.readBlock(location.handle)
            blockCache.insert(location.cacheKey, block)
        }
        return try answer(in: block, at: location, key: key, view: view, covering: covering, body)
    }

    /// The cached block `location` names; nil after counting the miss (one
    /// read of one block: a lookup batch, as multiGet's rounds are).
    func cachedBlock(_ location: BlockLocation) -> Block? {
        if let hit = blockCache.lookup(location.cacheKey) { return hit }
        stats.lookupReadBatches.add(1)
        stats.lookupBlocksRead.add(1)
        return nil
    }

    /// Searches `block` (the one `location` names) for `key`.
    /// An entry older than `covering` is deleted by a range tombstone.
    func answer<R>(in block: Block, at location: BlockLocation, key: UnsafeRawBufferPointer, view: ReadView,
                   covering: SequenceNumber,
                   _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> Answer<R>? {
        try withExtendedLifetime(block) { () throws(DBError) in
            try answer(location.table.find(in: block.layout, blockOffset: location.handle.offset, userKey: key,
                                           snapshot: view.sequence).applying(coveringSequence: covering), body)
        }
    }

    /// Calls `body` on a found value (its memory alive during the call).
    @inline(__always)
    func answer<R>(_ result: BlockSearchResult, _ body: (UnsafeRawBufferPointer) -> R) throws(DBError) -> Answer<R>? {
        switch result {
        case .found(let value, _):
            stats.userBytesRead.add(UInt64(value.count))
            return Answer(value: body(value))
        case .deleted:
            return Answer(value: nil)
        case .mergeOperand:
            return Answer(value: nil, needsMerge: true)
        case .notFound:
            return nil
        }
    }
}
