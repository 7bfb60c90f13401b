import Synchronization

/// The in-memory write buffer: every recent write as an internal-key entry in
/// a skiplist over arena memory, newest version of a user key first.
///
/// Why `@unchecked Sendable` is sound:
/// - The only mutating entry point is `add`, and its contract is that the
///   caller serializes it (one inserter at a time); the arena's and the
///   skiplist's inserter-only state is touched by nothing else.
/// - Readers (`get`, iterators) only load skiplist links with acquire
///   loads that pair with the inserter's release stores, and only read entry
///   bytes written before the release that published them; nothing a reader
///   touches is ever written again, moved or freed while the memtable lives.
/// - `entryCount` and the arena's byte count are `Atomic`s.
/// - The point index (MemTablePointIndex.swift) is installed once, by a
///   release store of `pointIndexBuckets` (callers of `enablePointIndex`
///   serialize it), and then used as the skiplist is: the inserter records
///   nodes, readers load with acquire.
/// - Everything else is `let`.
package final class MemTable: @unchecked Sendable {
    package enum LookupResult: Equatable, Sendable {
        case found([UInt8])
        case deleted
        /// The newest entry is a merge operand (older ones matter too).
        case mergeOperand
        case notFound
    }

    /// Default seed of the node-height PRNG; heights only affect speed, so a
    /// fixed seed keeps runs reproducible.
    static let defaultSeed: UInt64 = 0x5EED_0F_5C1B_115D

    private let arena: Arena
    /// Values longer than `MemTableEntry.inlineValueMaxBytes`.
    private let valueArena: Arena
    let list: SkipList
    /// The user keys in `list` (nil: none kept; every lookup searches).
    private let filter: MemTableFilter?
    private let count = Atomic<Int>(0)
    /// The point index's bucket heads (nil: none installed yet) and, once
    /// installed, their mask (`MemTablePointIndex`).
    private let pointIndexBuckets = Atomic<UnsafeMutablePointer<UInt64>?>(nil)
    private let pointIndexMask = Atomic<Int>(0)
    /// Range deletions, kept apart from the skiplist (Sendable by itself).
    let rangeTombstones = MemTableRangeTombstones()

    /// `arenaBlockSizeBytes` is the memory-usage granularity: see
    /// `arenaBlockSizeBytes(forWriteBufferSizeBytes:)`. `filterBytes` > 0
    /// keeps a `MemTableFilter` of about that size. `hugePageNodes`: the
    /// skiplist's nodes go in 2 MiB huge-page blocks (HugePageMemory.swift;
    /// for large memtables, whose usage then grows 2 MiB at a time).
    package init(arenaBlockSizeBytes: Int = Arena.defaultBlockSizeBytes, seed: UInt64 = MemTable.defaultSeed,
                 filterBytes: Int = 0, hugePageNodes: Bool = false) {
        // Values are only copied, never searched: their arena keeps
        // ordinary pages.
        arena = hugePageNodes ? Arena(blockSizeBytes: HugePageMemory.blockBytes, hugePages: true)
            : Arena(blockSizeBytes: arenaBlockSizeBytes)
        valueArena = Arena(blockSizeBytes: arenaBlockSizeBytes)
        list = SkipList(arena: arena, valueArena: valueArena, seed: seed)
        filter = filterBytes > 0 ? MemTableFilter(byteCount: filterBytes) : nil
    }

    deinit { pointIndex?.free() }

    /// The point index, when one is installed.
    @inline(__always)
    private var pointIndex: MemTablePointIndex? {
        guard let buckets = pointIndexBuckets.load(ordering: .acquiring) else { return nil }
        return MemTablePointIndex(buckets: buckets, mask: pointIndexMask.load(ordering: .relaxed))
    }

    /// Installs a point index (MemTablePointIndex.swift) sized for a
    /// memtable of `memtableBytes`, unless one is installed already.
    /// Callers serialize it (the database calls it under its mutex); it
    /// may run while the inserter inserts: entries inserted before the
    /// inserter sees the index are found by the skiplist search instead.
    func enablePointIndex(memtableBytes: Int) {
        if pointIndexBuckets.load(ordering: .acquiring) != nil { return }
        let index = MemTablePointIndex.allocate(bucketCount: MemTablePointIndex.bucketCount(forMemtableBytes: memtableBytes))
        pointIndexMask.store(index.mask, ordering: .relaxed)
        pointIndexBuckets.store(index.buckets, ordering: .releasing)
    }

    /// Whether a point index is installed.
    var hasPointIndex: Bool { pointIndexBuckets.load(ordering: .acquiring) != nil }

    /// An arena block size that keeps `approximateMemoryUsageBytes` (which
    /// grows a block at a time) fine-grained relative to the flush threshold:
    /// an eighth of the write buffer, between 4 KiB and 1 MiB.
    static func arenaBlockSizeBytes(forWriteBufferSizeBytes writeBufferSizeBytes: Int) -> Int {
        min(Arena.defaultBlockSizeBytes, max(4096, writeBufferSizeBytes / 8))
    }

    /// Whether a memtable of `writeBufferSizeBytes` puts its nodes in huge
    /// pages: from 16 MiB on, where a 2 MiB block is at most an eighth of it.
    static func usesHugePageNodes(forWriteBufferSizeBytes writeBufferSizeBytes: Int) -> Bool {
        writeBufferSizeBytes >= 8 * HugePageMemory.blockBytes
    }

    // MARK: - Writes (caller serializes)

    /// Adds one entry. The caller serializes calls to `add`, never adds the
    /// same (key, sequence, type) twice, and keeps key and value within
    /// `MemTableEntry.maxLengthBytes` (the write path validates user input).
    /// A `.rangeDeletion` carries the range's start as `key` and its
    /// exclusive end as `value` and goes to `rangeTombstones`.
    package func add(sequence: SequenceNumber, type: ValueType, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        precondition(sequence <= InternalKey.maxSequenceNumber, "sequence \(sequence) exceeds 56 bits")
        if type == .rangeDeletion {
            rangeTombstones.add(RangeTombstone(start: Array(key), end: Array(value), sequence: sequence))
            count.add(1, ordering: .relaxed)
            return
        }
        precondition(key.count <= MemTableEntry.maxLengthBytes && value.count <= MemTableEntry.maxLengthBytes,
                     "memtable entry of \(key.count)+\(value.count) bytes is too large")
        // The filter first: a reader that finds the entry finds its bits.
        let index = pointIndex
        let hash = filter != nil || index != nil ? BloomHash.hash64(key) : 0
        filter?.add(hash: hash)
        let node = list.insert(userKey: key, trailer: InternalKey.packTrailer(sequence, type), value: value)
        // Recorded once linked, before the caller publishes the sequence.
        index?.record(hash: hash, userKey: key, node: node, arena: arena)
        count.add(1, ordering: .relaxed)
    }

    // MARK: - Reads (any thread)

    /// The newest entry for `userKey` with sequence <= `snapshot` (range
    /// tombstones not applied: see `rangeTombstones`).
    package func get(_ userKey: UnsafeRawBufferPointer, snapshot: SequenceNumber) -> LookupResult {
        switch find(userKey, snapshot: snapshot) {
        case .found(let value, _): return .found(Array(value))
        case .deleted: return .deleted
        case .mergeOperand: return .mergeOperand
        case .notFound: return .notFound
        }
    }

    /// `get` without the copy (the read path's `get` and `withValue`): a
    /// found value points into the arena, valid while this memtable lives.
    func find(_ userKey: UnsafeRawBufferPointer, snapshot: SequenceNumber) -> BlockSearchResult {
        find(userKey, hash: BloomHash.hash64(userKey), snapshot: snapshot)
    }

    /// `find` with the key's `BloomHash.hash64` already computed: a key
    /// the filter rules out costs no skiplist search.
    func find(_ userKey: UnsafeRawBufferPointer, hash: UInt64, snapshot: SequenceNumber) -> BlockSearchResult {
        if let filter, !filter.mayContain(hash: hash) { return .notFound }
        if let index = pointIndex, let newest = index.newest(hash: hash, userKey: userKey),
           let answer = MemTable.visibleVersion(from: newest, userKey: userKey, snapshot: snapshot) {
            return answer
        }
        // Trailers sort descending, so (snapshot, typeForSeek) is the first
        // possible internal key of `userKey` visible at `snapshot`.
        let seekSequence = min(snapshot, InternalKey.maxSequenceNumber)
        let target = SkipList.Target(userKey: userKey,
                                     trailer: InternalKey.packTrailer(seekSequence, InternalKey.typeForSeek))
        guard let node = list.seek(target) else { return .notFound }
        let internalKey = SkipList.internalKey(node)
        guard compareBytes(InternalKey.userKey(internalKey), userKey) == 0 else { return .notFound }
        return MemTable.answer(internalKey, sequence: InternalKey.unpackTrailer(InternalKey.trailer(internalKey)).0)
    }

    /// Longest walk along a key's versions newer than the snapshot before
    /// `visibleVersion` gives up (the skiplist search then answers).
    static let pointIndexMaxSteps = 32

    /// The newest version of `userKey` at or below `snapshot`, walking
    /// level 0 from `newest` (the index's node of the key: every version a
    /// reader may see is at or after it); `.notFound` when the walk leaves
    /// the key's versions; nil after `pointIndexMaxSteps` newer versions.
    private static func visibleVersion(from newest: UnsafeMutableRawPointer, userKey: UnsafeRawBufferPointer,
                                       snapshot: SequenceNumber) -> BlockSearchResult? {
        var node = newest
        for step in 0..<pointIndexMaxSteps {
            let internalKey = SkipList.internalKey(node)
            // The first node is the key's (the index compared it).
            if step > 0 && compareBytes(InternalKey.userKey(internalKey), userKey) != 0 { return .notFound }
            let sequence = InternalKey.unpackTrailer(InternalKey.trailer(internalKey)).0
            if sequence <= snapshot { return answer(internalKey, sequence: sequence) }
            guard let next = SkipList.next(node, level: 0) else { return .notFound }
            node = next
        }
        return nil
    }

    /// What the entry `internalKey` (of sequence `sequence`) answers.
    @inline(__always)
    private static func answer(_ internalKey: UnsafeRawBufferPointer, sequence: SequenceNumber) -> BlockSearchResult {
        let type = InternalKey.unpackTrailer(InternalKey.trailer(internalKey)).1
        if type == ValueType.deletion.rawValue { return .deleted(sequence: sequence) }
        if type == ValueType.merge.rawValue { return .mergeOperand(sequence: sequence) }
        return .found(MemTableEntry.value(following: internalKey), sequence: sequence)
    }

    /// Bytes of arena memory held (grows one arena block at a time), plus
    /// the range tombstones' approximate bytes.
    package var approximateMemoryUsageBytes: Int {
        arena.memoryUsageBytes + valueArena.memoryUsageBytes + rangeTombstones.memoryUsageBytes
    }

    /// Bytes of the key filter (not counted against the memtable size).
    var filterBytes: Int { filter?.memoryBytes ?? 0 }

    /// Entries added so far (deletions and range deletions included).
    package var entryCount: Int { count.load(ordering: .relaxed) }

    /// An iterator over every entry in internal-key order. It keeps this
    /// memtable alive, so its key and value bytes stay valid as long as it
    /// does (longer than the `InternalIterator` contract promises).
    func makeIterator() -> MemTableIterator { MemTableIterator(self) }
}
