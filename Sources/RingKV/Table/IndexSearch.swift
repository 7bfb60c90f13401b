/// A compact image of a table's index block for point lookups, built once
/// when the table is opened.
///
/// Why: an index block of a 64 MiB table has ~16k entries; a binary search
/// over its restart array touches ~14 entries spread over ~400 KiB, each
/// probe two cache misses (the restart slot, then the entry), and those
/// probes were the largest single cost of a cached `get`. Here every entry
/// is represented by 8 bytes of its user key — the 8 bytes after the prefix
/// all of the table's index keys share — in one contiguous array: the
/// binary search runs over 128 KiB whose upper levels stay in cache, and
/// only entries whose 8 bytes tie with the key's are compared in full.
///
/// Order argument: index keys are sorted by user key (then trailer), so
/// their 8-byte big-endian prefixes (zero-padded when the key is shorter)
/// never decrease; a prefix below the key's means the entry sorts below
/// the lookup key, one above means it sorts above; ties are decided by the
/// full comparison.
///
/// Only built when every index entry is a restart point (the writer's index
/// restart interval is 1, docs/FORMAT.md §SSTable), so entry i is found
/// through restart slot i; otherwise lookups use the cursor's own search.
struct IndexSearch {
    /// Bytes every index key's user key starts with.
    private let commonPrefix: [UInt8]
    /// Per entry, big-endian, the 8 user-key bytes after `commonPrefix`.
    private let keys: [UInt64]
    /// Every `topStride`-th of `keys` (4 KiB for a 64 MiB table): searched
    /// first, it stays in the CPU cache, and narrows the search of `keys`
    /// to one stretch of `topStride` words (four cache lines).
    private let top: [UInt64]
    static let topStride = 32

    /// nil when the index is empty or not one restart per entry. Throws
    /// when the block does not decode.
    init?(index layout: BlockLayout) throws(DecodeError) {
        guard layout.restartCount > 0 else { return nil }
        // Pass 1: one restart per entry, and the first and last user keys
        // (sorted keys: what those two share, all share).
        var cursor = BlockCursor(layout, scratch: nil)
        try cursor.seekToFirst()
        guard cursor.isValid else { return nil }
        let first = Array(InternalKey.userKey(cursor.key))
        var last = first
        var count = 0
        while cursor.isValid {
            guard count < layout.restartCount, try layout.restartPoint(count) == cursor.currentOffset else { return nil }
            count += 1
            try cursor.next()
            if !cursor.isValid { break }
            if count == layout.restartCount - 1 { last = Array(InternalKey.userKey(cursor.key)) }
        }
        guard count == layout.restartCount else { return nil }
        var shared = 0
        while shared < first.count && shared < last.count && first[shared] == last[shared] { shared += 1 }
        commonPrefix = Array(first.prefix(shared))
        // Pass 2: the words, straight from each entry's key (no copies).
        var words: [UInt64] = []
        words.reserveCapacity(count)
        try cursor.seekToFirst()
        while cursor.isValid {
            words.append(IndexSearch.word(InternalKey.userKey(cursor.key), from: shared))
            try cursor.next()
        }
        keys = words
        top = stride(from: 0, to: words.count, by: IndexSearch.topStride).map { words[$0] }
    }

    /// Big-endian 8 bytes of `bytes` from `start`, zero-padded.
    @inline(__always)
    private static func word(_ bytes: UnsafeRawBufferPointer, from start: Int) -> UInt64 {
        var w: UInt64 = 0
        let end = min(bytes.count, start + 8)
        var i = start
        while i < end {
            w |= UInt64(bytes[i]) << (8 * UInt64(7 - (i - start)))
            i += 1
        }
        return w
    }

    /// The index of the first entry >= `lookupKey` (an internal key), or
    /// `count` when every entry is smaller. `compareEntry(i)` compares entry
    /// i's internal key with `lookupKey` (only called on ties).
    func firstEntry<E: Error>(atOrAfter lookupKey: UnsafeRawBufferPointer,
                              compareEntry: (Int) throws(E) -> Int) throws(E) -> Int {
        let user = InternalKey.userKey(lookupKey)
        let shared = commonPrefix.count
        if shared > 0 {
            let prefixOrder = commonPrefix.withUnsafeBytes { compareBytes($0, UnsafeRawBufferPointer(rebasing: user.prefix(shared))) }
            // Every entry starts with the common prefix: a key below it sorts
            // before them all, one above it after them all.
            if prefixOrder > 0 { return 0 }
            if prefixOrder < 0 { return keys.count }
            if user.count < shared { return 0 }  // a proper prefix of every entry
        }
        let target = IndexSearch.word(user, from: shared)
        // top[t] = keys[t * stride]: the first top word >= target bounds the
        // first key >= target to (stride * (t - 1), stride * t].
        var t = 0, topEnd = top.count
        while t < topEnd {
            let mid = (t + topEnd) / 2
            if top[mid] < target { t = mid + 1 } else { topEnd = mid }
        }
        var low = t == 0 ? 0 : (t - 1) * IndexSearch.topStride + 1
        var high = min(t * IndexSearch.topStride, keys.count)
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < target { low = mid + 1 } else { high = mid }
        }
        // Entries in [low, high) share the key's 8 bytes: decided in full,
        // by a second binary search.
        high = low
        var end = keys.count
        while high < end {
            let mid = (high + end) / 2
            if keys[mid] <= target { high = mid + 1 } else { end = mid }
        }
        while low < high {
            let mid = (low + high) / 2
            if try compareEntry(mid) < 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Bytes held, for the memory accounting in docs/ARCHITECTURE.md.
    var memoryBytes: Int { (keys.count + top.count) * 8 + commonPrefix.count }
}
