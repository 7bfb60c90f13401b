/// Builds the uncompressed contents of one block (docs/FORMAT.md §SSTable,
/// "Block contents"):
///
///     entry*      shared: varint, nonShared: varint, valueLength: varint,
///                 key[shared...]: nonShared bytes, value: valueLength bytes
///     restart*    fixed32 offset of an entry whose shared == 0
///     count       fixed32 number of restarts (>= 1)
///
/// Every `restartInterval`-th entry stores its whole key (a restart point);
/// the entries between store only the suffix that differs from the key
/// before them. Keys must arrive in increasing order; the builder does not
/// compare them (the table builder does).
///
/// Data flows: `add` writes each entry into one raw growable buffer (the
/// three varints stored in place, then one memcpy for the key suffix and
/// one for the value: no Array append, uniqueness or bounds check per
/// entry, which cost ~12 % of a bulk write's caller thread, perf of
/// kvbench --workload ingest); `finish` appends the restart array and
/// copies the contents out (or lends them, `finish(_:)`). The last key
/// added is kept in a second raw buffer and survives `reset`, so the
/// table builder reads it from here instead of keeping its own copy.
///
/// Noncopyable: it owns its two buffers and frees them in `deinit`.
package struct BlockBuilder: ~Copyable {
    let restartInterval: Int
    /// The entries (and, once finished, the restart array): `count` bytes
    /// of `capacity` at `base`.
    private var base: UnsafeMutableRawPointer
    private var count = 0
    private var capacity: Int
    private var restarts: [UInt32] = [0]
    /// Entries since the last restart point.
    private var entriesSinceRestart = 0
    /// The key added last: `lastKeyCount` bytes of `lastKeyCapacity` at `lastKeyBase`.
    private var lastKeyBase: UnsafeMutableRawPointer
    private var lastKeyCount = 0
    private var lastKeyCapacity: Int
    private(set) var entryCount = 0
    private var finished = false

    package init(restartInterval: Int) {
        precondition(restartInterval >= 1, "block restart interval must be at least 1")
        self.restartInterval = restartInterval
        capacity = 8192
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        lastKeyCapacity = 64
        lastKeyBase = UnsafeMutableRawPointer.allocate(byteCount: lastKeyCapacity, alignment: 16)
    }

    deinit {
        base.deallocate()
        lastKeyBase.deallocate()
    }

    var isEmpty: Bool { entryCount == 0 }

    /// Size of the block if it were finished now.
    var estimatedSizeBytes: Int { count + restarts.count * 4 + 4 }

    /// The key added last (empty before the first add; kept by `reset`).
    var lastAddedKey: [UInt8] { withLastKey { Array($0) } }

    /// Lends the key added last (empty before the first add; kept by `reset`).
    @inline(__always)
    func withLastKey<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: lastKeyBase, count: lastKeyCount))
    }

    package mutating func add(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        precondition(!finished, "BlockBuilder.add after finish() without reset()")
        var shared = 0
        if entryCount == 0 {
            // The block's first entry: restart 0 is already recorded.
            entriesSinceRestart = 0
        } else if entriesSinceRestart < restartInterval {
            shared = Self.commonPrefixLength(UnsafeRawBufferPointer(start: lastKeyBase, count: lastKeyCount), key)
        } else {
            restarts.append(UInt32(count))
            entriesSinceRestart = 0
        }
        let nonShared = key.count - shared
        // Three varints (at most 3 × 10 bytes), the key suffix, the value.
        reserve(count + 30 + nonShared + value.count)
        var at = Self.putVarint(UInt64(shared), into: base, at: count)
        at = Self.putVarint(UInt64(nonShared), into: base, at: at)
        at = Self.putVarint(UInt64(value.count), into: base, at: at)
        if nonShared > 0, let source = key.baseAddress {
            (base + at).copyMemory(from: source + shared, byteCount: nonShared)
            at += nonShared
        }
        if let source = value.baseAddress, value.count > 0 {
            (base + at).copyMemory(from: source, byteCount: value.count)
            at += value.count
        }
        count = at

        // Keep the common prefix of lastKey; copy the differing suffix.
        if key.count > lastKeyCapacity { growLastKey(to: key.count) }
        if nonShared > 0, let source = key.baseAddress {
            (lastKeyBase + shared).copyMemory(from: source + shared, byteCount: nonShared)
        }
        lastKeyCount = key.count
        entriesSinceRestart += 1
        entryCount += 1
    }

    /// Appends the restart array and returns a copy of the finished
    /// contents. The builder must be `reset()` before it takes entries again.
    package mutating func finish() -> [UInt8] {
        finish { raw in Array(raw) }
    }

    /// Appends the restart array and lends the finished contents to `body`
    /// (valid only during the call). The builder must be `reset()` before
    /// it takes entries again.
    mutating func finish<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        precondition(!finished, "BlockBuilder.finish called twice")
        reserve(count + restarts.count * 4 + 4)
        for r in restarts { appendFixed32(r) }
        appendFixed32(UInt32(restarts.count))
        finished = true
        return try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Empties the block for new entries, keeping its storage and the last
    /// key (`withLastKey`); the next entry is a restart point regardless.
    mutating func reset() {
        count = 0
        restarts.removeAll(keepingCapacity: true)
        restarts.append(0)
        entriesSinceRestart = 0
        entryCount = 0
        finished = false
    }

    // MARK: - Storage

    @inline(__always)
    private mutating func reserve(_ needed: Int) {
        if needed > capacity { grow(to: needed) }
    }

    private mutating func grow(to needed: Int) {
        (base, capacity) = Self.grown(base, used: count, capacity: capacity, needed: needed)
    }

    private mutating func growLastKey(to needed: Int) {
        (lastKeyBase, lastKeyCapacity) = Self.grown(lastKeyBase, used: lastKeyCount, capacity: lastKeyCapacity,
                                                    needed: needed)
    }

    /// A buffer of at least `needed` bytes (capacity doubled until it fits)
    /// holding the first `used` bytes of `old`, which is freed.
    private static func grown(_ old: UnsafeMutableRawPointer, used: Int, capacity: Int,
                              needed: Int) -> (UnsafeMutableRawPointer, Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: old, byteCount: used)
        old.deallocate()
        return (newBase, newCapacity)
    }

    // MARK: - Encoding helpers

    /// Writes `value` as a varint at `at` of `out` (room for it assumed:
    /// at most 10 bytes); returns the offset after it.
    @inline(__always)
    private static func putVarint(_ value: UInt64, into out: UnsafeMutableRawPointer, at: Int) -> Int {
        var v = value
        var i = at
        while v >= 0x80 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: i, as: UInt8.self)
            v >>= 7
            i += 1
        }
        out.storeBytes(of: UInt8(v), toByteOffset: i, as: UInt8.self)
        return i + 1
    }

    /// Room for 4 bytes assumed (`reserve`).
    @inline(__always)
    private mutating func appendFixed32(_ v: UInt32) {
        (base + count).storeBytes(of: v.littleEndian, as: UInt32.self)
        count += 4
    }

    /// The length of the common prefix of `a` and `b`, 8 bytes at a time.
    @inline(__always)
    static func commonPrefixLength(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        var i = 0
        while i + 8 <= n {
            let x = pa.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                ^ pb.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if x != 0 { return i + UInt64(littleEndian: x).trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < n && pa.load(fromByteOffset: i, as: UInt8.self) == pb.load(fromByteOffset: i, as: UInt8.self) {
            i += 1
        }
        return i
    }
}
