import Glibc

/// Builds a table's bloom and prefix filters from its finished data blocks
/// instead of from each `add`: a pipelined `TableBuilder` (`BlockPipeline`,
/// `TableFileWriter`'s bulk files) hashes its keys on the writer thread,
/// off the caller's, which is the bulk write's critical path (callgrind of
/// kvbench --workload ingest: hashing was ~80 of the caller's ~1,470
/// instructions per record).
///
/// Data flows: `add(block:)` walks the entries of one uncompressed data
/// block (docs/FORMAT.md §SSTable "Block contents", as `BlockBuilder`
/// wrote it), rebuilding each key from the shared prefix of the key
/// before it, and adds each user key that differs from the one before it
/// (across blocks too) to the bloom filter and the prefix filter — the
/// user keys, in the order, that `TableBuilder.add` gives the filters when
/// it builds them itself, so the encoded filters are byte for byte the
/// same. `take` hands the two builders back for `TableBuilder.finish`.
///
/// The blocks are this process's own, built in memory a moment before;
/// a block whose layout does not parse (never expected) stops the walk
/// and marks the feed broken, which `TableBuilder.finish` turns into an
/// error instead of writing a filter that could lack a key.
struct BlockFilterFeed: ~Copyable {
    private var bloom: BloomFilterBuilder?
    private var prefix: PrefixFilterBuilder?
    /// The key of the entry walked last (internal key): `keyCount` bytes
    /// of `keyCapacity` at `keyBase`; kept across blocks.
    private var keyBase: UnsafeMutableRawPointer
    private var keyCount = 0
    private var keyCapacity = 256
    private var hasKey = false
    private(set) var broken = false

    init(bloom: BloomFilterBuilder?, prefix: PrefixFilterBuilder?) {
        self.bloom = bloom
        self.prefix = prefix
        keyBase = UnsafeMutableRawPointer.allocate(byteCount: keyCapacity, alignment: 16)
    }

    deinit { keyBase.deallocate() }

    /// Whether there is any filter to feed.
    var isNeeded: Bool { bloom != nil || prefix != nil }

    /// The filter builders, fed with every block so far (the feed keeps
    /// none afterwards).
    mutating func take() -> (bloom: BloomFilterBuilder?, prefix: PrefixFilterBuilder?, broken: Bool) {
        defer {
            bloom = nil
            prefix = nil
        }
        return (bloom, prefix, broken)
    }

    /// Adds the distinct user keys of one data block's contents.
    mutating func add(block: UnsafeRawBufferPointer) {
        guard isNeeded, !broken else { return }
        guard let base = block.baseAddress, block.count >= 4 else {
            broken = true
            return
        }
        let restartCount = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: block.count - 4, as: UInt32.self)))
        let limit = block.count - 4 - 4 * restartCount
        guard restartCount >= 1, limit >= 0 else {
            broken = true
            return
        }
        var at = 0
        while at < limit {
            guard let shared = Self.varint(base, &at, limit), let nonShared = Self.varint(base, &at, limit),
                  let valueCount = Self.varint(base, &at, limit),
                  shared <= keyCount || (!hasKey && shared == 0),
                  nonShared <= limit - at, valueCount <= limit - at - nonShared,
                  shared + nonShared >= InternalKey.trailerSize else {
                broken = true
                return
            }
            let count = shared + nonShared
            let userCount = count - InternalKey.trailerSize
            // The same user key as the entry before: equal length and equal
            // bytes past the shared prefix (compared before they are overwritten).
            let sameUserKey = hasKey && keyCount == count
                && (shared >= userCount
                    || (keyBase.load(fromByteOffset: shared, as: UInt8.self) == base.load(fromByteOffset: at, as: UInt8.self)
                        && memcmp(keyBase + shared, base + at, userCount - shared) == 0))
            if count > keyCapacity { grow(to: count) }
            (keyBase + shared).copyMemory(from: base + at, byteCount: nonShared)
            keyCount = count
            hasKey = true
            at += nonShared + valueCount
            if !sameUserKey {
                let userKey = UnsafeRawBufferPointer(start: keyBase, count: userCount)
                bloom?.add(userKey)
                prefix?.add(userKey: userKey)
            }
        }
    }

    /// Makes the key buffer hold at least `needed` bytes, keeping its key.
    private mutating func grow(to needed: Int) {
        var capacity = keyCapacity * 2
        while capacity < needed { capacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        newBase.copyMemory(from: keyBase, byteCount: keyCount)
        keyBase.deallocate()
        keyBase = newBase
        keyCapacity = capacity
    }

    /// Reads a varint of at most 5 bytes below `limit` (nil: malformed).
    @inline(__always)
    private static func varint(_ base: UnsafeRawPointer, _ at: inout Int, _ limit: Int) -> Int? {
        var result = 0
        var shift = 0
        while at < limit && shift <= 28 {
            let byte = base.load(fromByteOffset: at, as: UInt8.self)
            at += 1
            result |= Int(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }
}
