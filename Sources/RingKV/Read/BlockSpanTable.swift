/// Which span of a lookup round (LookupRound.swift) reads a block: an
/// open-addressing hash table from `BlockCacheKey` to span number, probed
/// linearly from the key's `shardHash` (already well mixed). It replaces a
/// `[BlockCacheKey: Int]` whose SipHash hashing, growth and lookups cost
/// ~1,000 instructions per key in `multiGet` of 32 (callgrind).
///
/// At most half full: it doubles (and re-inserts) before that.
struct BlockSpanTable {
    private var keys: [BlockCacheKey]
    /// Span per slot; -1: the slot is empty.
    private var spans: [Int32]
    private var count = 0
    private var mask: Int

    /// Room for `expected` blocks before the first growth.
    init(expected: Int) {
        var capacity = 16
        while capacity < 2 * expected { capacity <<= 1 }
        keys = [BlockCacheKey](repeating: BlockCacheKey(fileNumber: 0, blockOffset: 0), count: capacity)
        spans = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
    }

    /// The span recorded for `key`, or nil.
    func span(of key: BlockCacheKey) -> Int? {
        var i = Int(truncatingIfNeeded: key.shardHash) & mask
        while spans[i] >= 0 {
            if keys[i] == key { return Int(spans[i]) }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Records `span` for `key`, which is not in the table.
    mutating func insert(_ key: BlockCacheKey, span: Int) {
        if 2 * (count + 1) > spans.count { grow() }
        place(key, Int32(span))
        count += 1
    }

    private mutating func place(_ key: BlockCacheKey, _ span: Int32) {
        var i = Int(truncatingIfNeeded: key.shardHash) & mask
        while spans[i] >= 0 { i = (i + 1) & mask }
        keys[i] = key
        spans[i] = span
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldSpans = spans
        let capacity = spans.count * 2
        keys = [BlockCacheKey](repeating: BlockCacheKey(fileNumber: 0, blockOffset: 0), count: capacity)
        spans = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for i in oldSpans.indices where oldSpans[i] >= 0 { place(oldKeys[i], oldSpans[i]) }
    }
}
