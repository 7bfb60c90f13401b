/// A block-cache shard's key → slot map: open addressing with linear
/// probing over a power-of-two table at most half full, deletion by
/// backward shift (no tombstones). It replaces a `Dictionary`, whose
/// SipHash and generic probing were 5 % of the CPU samples of YCSB C
/// (`perf record -g`: `__RawDictionaryStorage.find`, `Hasher`); here a
/// lookup is one multiply and usually one probe.
///
/// The position comes from the high bits of the key's `shardHash` times a
/// constant: the shard was chosen from its low bits (`% shardCount`), so
/// those are the same for every key of one shard.
struct BlockIndex {
    private var keys: [BlockCacheKey]
    /// Slot numbers; -1 marks an empty position.
    private var values: [Int32]
    private var shift: UInt64
    private(set) var count = 0

    init() {
        keys = Array(repeating: BlockCacheKey(fileNumber: 0, blockOffset: 0), count: 16)
        values = Array(repeating: -1, count: 16)
        shift = 64 - 4
    }

    var isEmpty: Bool { count == 0 }

    private var mask: Int { values.count - 1 }

    @inline(__always)
    private func home(_ key: BlockCacheKey) -> Int {
        Int(truncatingIfNeeded: (key.shardHash &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot stored for `key`, or nil.
    @inline(__always)
    func slot(for key: BlockCacheKey) -> Int32? {
        var i = home(key)
        while true {
            let v = values[i]
            if v < 0 { return nil }
            if keys[i] == key { return v }
            i = (i + 1) & mask
        }
    }

    /// Stores `slot` for `key` (replacing what it had).
    mutating func set(_ key: BlockCacheKey, _ slot: Int32) {
        precondition(slot >= 0, "block index slots are non-negative")
        if (count + 1) * 2 > values.count { grow() }
        var i = home(key)
        while values[i] >= 0 {
            if keys[i] == key {
                values[i] = slot
                return
            }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = slot
        count += 1
    }

    /// Removes `key`; returns whether it was there.
    @discardableResult
    mutating func remove(_ key: BlockCacheKey) -> Bool {
        var i = home(key)
        while true {
            if values[i] < 0 { return false }
            if keys[i] == key { break }
            i = (i + 1) & mask
        }
        // Backward shift: move later entries of the probe run into the
        // hole when their home position does not lie after the hole.
        var hole = i
        var j = i
        while true {
            j = (j + 1) & mask
            if values[j] < 0 { break }
            let h = home(keys[j])
            // Does h lie cyclically in (hole, j]? Then the entry stays.
            let staysPut = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !staysPut {
                keys[hole] = keys[j]
                values[hole] = values[j]
                hole = j
            }
        }
        values[hole] = -1
        count -= 1
        return true
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let capacity = values.count * 2
        keys = Array(repeating: BlockCacheKey(fileNumber: 0, blockOffset: 0), count: capacity)
        values = Array(repeating: -1, count: capacity)
        shift -= 1
        count = 0
        for i in oldValues.indices where oldValues[i] >= 0 { set(oldKeys[i], oldValues[i]) }
    }
}
