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
    /// Runs `body` over the newest visible value of `key` (nil: absent or
    /// deleted). The bytes stay valid during `body` only: the view holds
    /// the memtables and the version (so every table of the version stays
    /// on disk and open), and a block it reads from is held by this call
    /// even if the cache evicts it meanwhile.
    func withValue<R>(forKey key: UnsafeRawBufferPointer, options: ReadOptions,
                      _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        let view = try readView(options)
        // The largest visible range tombstone covering `key` so far
        // (RangeDeletionLookup.swift).
        var covering: SequenceNumber = 0
        // (No array of the two memtables: this path allocates nothing.)
        var memtable: MemTable? = view.mem
        while let current = memtable {
            covering = max(covering, current.rangeTombstones.coveringSequence(key, atOrBelow: view.sequence))
            switch current.find(key, snapshot: view.sequence).applying(coveringSequence: covering) {
            case .found(let value, _): return try withExtendedLifetime(view) { try body(value) }
            case .deleted: return nil
            case .notFound: break
            }
            memtable = current === view.mem ? view.imm : nil
        }
        let hash = BloomHash.hash64(key)
        let version = view.version
        for file in version.files[0] where file.contains(userKey: key) {
            if let answer = try probe(file, key: key, hash: hash, view: view, covering: &covering, body) {
                return answer.value
            }
        }
        for level in 1..<Version.numLevels {
            guard let file = version.fileContaining(level: level, userKey: key) else { continue }
            if let answer = try probe(file, key: key, hash: hash, view: view, covering: &covering, body) {
                return answer.value
            }
        }
        return nil
    }

    /// A table's final answer: the body's result, or nil for a deletion.
    struct Answer<R> { var value: R? }

    /// Looks `key` up in one table: filter, index, block (cache, else one
    /// read), search. nil when the table has no visible entry for the key.
    private func probe<R>(_ file: FileMetaData, key: UnsafeRawBufferPointer, hash: UInt64, view: ReadView,
                          covering: inout SequenceNumber,
                          _ body: (UnsafeRawBufferPointer) throws -> R) throws -> Answer<R>? {
        stats.tableLookups.add(1)
        let table = try tableCache.reader(for: file.number)
        if table.hasRangeTombstones {
            covering = max(covering, table.rangeTombstones.coveringSequence(key, atOrBelow: view.sequence))
        }
        let covering = covering
        guard table.mayContain(userKeyHash: hash) else { return nil }
        guard let handle = try table.locate(userKey: key, snapshot: view.sequence) else { return nil }
        let cacheKey = BlockCacheKey(fileNumber: file.number, blockOffset: handle.offset)
        let block: Block
        if let hit = blockCache.lookup(cacheKey) {
            block = hit
        } else {
            // One read of one block: counted as a lookup batch, as multiGet's are.
            stats.lookupReadBatches.add(1)
            stats.lookupBlocksRead.add(1)
            guard view.fillCache else {
                return try table.withBlockRead(handle) { layout in
                    try answer(table.find(in: layout, blockOffset: handle.offset, userKey: key,
                                          snapshot: view.sequence).applying(coveringSequence: covering), body)
                }
            }
            block = try table.readBlock(handle)
            blockCache.insert(cacheKey, block)
        }
        return try withExtendedLifetime(block) {
            try answer(table.find(in: block.layout, blockOffset: handle.offset, userKey: key, snapshot: view.sequence)
                        .applying(coveringSequence: covering), body)
        }
    }

    /// Calls `body` on a found value (its memory alive during the call).
    @inline(__always)
    private func answer<R>(_ result: BlockSearchResult, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> Answer<R>? {
        switch result {
        case .found(let value, _):
            stats.userBytesRead.add(UInt64(value.count))
            return Answer(value: try body(value))
        case .deleted:
            return Answer(value: nil)
        case .notFound:
            return nil
        }
    }
}
