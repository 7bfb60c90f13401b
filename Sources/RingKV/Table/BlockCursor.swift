/// Where the parts of one decoded block lie (docs/FORMAT.md §SSTable "Block
/// contents"): entries in [0, restartsOffset), then `restartCount` fixed32
/// restart offsets, then the fixed32 count. Checked once at construction;
/// the entries are checked as a `BlockCursor` walks them.
///
/// A plain value over memory someone else owns (a `Block`, or a decoded
/// buffer a point lookup frees after use): whoever makes one keeps that
/// memory alive while the layout or a cursor over it is in use.
struct BlockLayout {
    let base: UnsafeRawPointer
    let count: Int
    let restartsOffset: Int
    let restartCount: Int

    /// Checks that the restart array fits `count` bytes at `base`.
    init(base: UnsafeRawPointer, count: Int) throws(DecodeError) {
        let headerBytes = 4
        guard count >= headerBytes else {
            throw DecodeError(reason: "block of \(count) bytes is too short for its restart count", offset: 0)
        }
        let restartCount = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
        let maxRestarts = (count - headerBytes) / 4
        guard restartCount >= 1, restartCount <= maxRestarts else {
            throw DecodeError(reason: "block restart count \(restartCount) does not fit \(count) bytes", offset: 0)
        }
        self.base = base
        self.count = count
        self.restartsOffset = count - headerBytes - restartCount * 4
        self.restartCount = restartCount
    }

    /// The entry offset stored in restart slot `index` (< restartCount),
    /// checked to point inside the entry area.
    @inline(__always)
    func restartPoint(_ index: Int) throws(DecodeError) -> Int {
        let at = restartsOffset + index * 4
        let value = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        guard value < restartsOffset || (value == 0 && restartsOffset == 0) else {
            throw DecodeError(reason: "restart point \(index) = \(value) lies outside the entries (\(restartsOffset) bytes)",
                              offset: at)
        }
        return value
    }
}

/// The decoding state of a walk over one block's entries: the one place
/// entries are parsed, shared by `BlockIterator` (a heap object for
/// iterators that live across calls) and point lookups (a cursor on the
/// stack, so a lookup allocates nothing).
///
/// The current key is rebuilt (shared prefix + suffix) in a key buffer:
/// `scratch` memory the caller lends (it must outlive the cursor), grown
/// into memory the cursor owns only when a key is longer. `value` points
/// into the block. Every read is checked against the entry area, so a
/// malformed block throws `DecodeError` (offset = entry's byte in the
/// block) instead of trapping or reading out of bounds.
struct BlockCursor: ~Copyable {
    private(set) var layout: BlockLayout
    private var keyBuffer: UnsafeMutableRawPointer
    private var keyCapacity: Int
    /// keyBuffer was allocated here (and is freed in deinit).
    private var ownsKeyBuffer: Bool
    private var keyCount = 0
    /// Offset of the current entry; == limit when not valid.
    private var current: Int
    /// Offset of the entry after the current one.
    private var nextOffset = 0
    private var valueOffset = 0
    private var valueCount = 0

    /// End of the entry area (start of the restart array): always
    /// `layout.restartsOffset`. Stored, not computed: it is read several
    /// times per entry decoded, and a debug build calls a getter for each
    /// read (~2% of an async get's CPU in perf).
    private var limit: Int

    /// Starts invalid. `scratch` (nil: the cursor allocates) holds keys up
    /// to its size; the caller keeps it alive as long as the cursor.
    init(_ layout: BlockLayout, scratch: UnsafeMutableRawBufferPointer?) {
        self.layout = layout
        self.limit = layout.restartsOffset
        self.current = layout.restartsOffset
        if let scratch, let base = scratch.baseAddress, scratch.count >= InternalKey.trailerSize {
            keyBuffer = base
            keyCapacity = scratch.count
            ownsKeyBuffer = false
        } else {
            keyCapacity = 64
            keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
            ownsKeyBuffer = true
        }
    }

    deinit { if ownsKeyBuffer { keyBuffer.deallocate() } }

    /// Runs `body` with a cursor over `layout` whose key buffer is on the
    /// stack (keys of up to 512 bytes need no heap memory).
    @inline(__always)
    static func withCursor<R, E: Error>(_ layout: BlockLayout,
                                        _ body: (inout BlockCursor) throws(E) -> R) throws(E) -> R {
        try withTemporaryBytes(byteCount: 512, alignment: 8) { (scratch) throws(E) in
            var cursor = BlockCursor(layout, scratch: scratch)
            return try body(&cursor)
        }
    }

    /// Moves the cursor to another block (invalid until positioned),
    /// keeping its key buffer.
    mutating func reset(to layout: BlockLayout) {
        self.layout = layout
        limit = layout.restartsOffset
        current = layout.restartsOffset
        keyCount = 0
    }

    var isValid: Bool { current < limit }

    /// The current internal key; valid until the cursor moves. Requires isValid.
    var key: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: keyBuffer, count: keyCount) }

    /// The current value, in the block. Requires isValid.
    var value: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: layout.base + valueOffset, count: valueCount) }

    /// Offset of the current entry in the block (the entry area's end when
    /// not valid).
    var currentOffset: Int { current }

    /// Positions at the entry restart slot `index` points to.
    mutating func seek(toRestart index: Int) throws(DecodeError) {
        keyCount = 0
        try parseEntry(at: try layout.restartPoint(index))
    }

    mutating func seekToFirst() throws(DecodeError) {
        keyCount = 0
        try parseEntry(at: 0)
    }

    mutating func next() throws(DecodeError) {
        try parseEntry(at: nextOffset)
    }

    /// Positions at the last entry: the last restart point, then forward
    /// to the entry that ends the entry area.
    mutating func seekToLast() throws(DecodeError) {
        keyCount = 0
        try parseEntry(at: try layout.restartPoint(layout.restartCount - 1))
        while isValid && nextOffset < limit { try parseEntry(at: nextOffset) }
    }

    /// Moves to the entry before the current one (invalid before the
    /// first). Entries are prefix-compressed forwards only, so this finds
    /// the last restart point before the current entry (binary search) and
    /// decodes forward from it to the entry that ends where the current
    /// one starts: O(log restarts + restart interval) per step.
    mutating func prev() throws(DecodeError) {
        let original = current
        guard original > 0 else {
            current = limit
            keyCount = 0
            return
        }
        // The last restart slot whose offset is < original.
        var left = 0
        var right = layout.restartCount - 1
        while left < right {
            let mid = (left + right + 1) / 2
            if try layout.restartPoint(mid) < original { left = mid } else { right = mid - 1 }
        }
        keyCount = 0
        try parseEntry(at: try layout.restartPoint(left))
        while isValid && nextOffset < original { try parseEntry(at: nextOffset) }
        guard isValid, nextOffset == original else {
            throw fail(original, "no entry ends where entry \(original) starts (restart points disagree with the entries)")
        }
    }

    /// Makes the cursor invalid (past the last entry).
    mutating func moveToEnd() {
        current = limit
        keyCount = 0
    }

    /// Binary search over the restart points (whose keys are compared in
    /// place in the block) for the last one whose key is < target, then a
    /// linear scan to the first key >= target.
    mutating func seek(_ target: UnsafeRawBufferPointer) throws(DecodeError) {
        var left = 0
        var right = layout.restartCount - 1
        while left < right {
            let mid = (left + right + 1) / 2
            let restartKey = try keyAtRestart(try layout.restartPoint(mid))
            if InternalKey.compare(restartKey, target) < 0 {
                left = mid
            } else {
                right = mid - 1
            }
        }
        keyCount = 0
        try parseEntry(at: try layout.restartPoint(left))
        while isValid && InternalKey.compare(key, target) < 0 {
            try parseEntry(at: nextOffset)
        }
    }

    /// `seek`, through the block's `IndexSearch` when it has one (an index
    /// block with one restart per entry): the entry comes from the compact
    /// key array, and only entries tying on its 8 bytes are read.
    mutating func seek(_ target: UnsafeRawBufferPointer, using search: IndexSearch?) throws(DecodeError) {
        guard let search else { return try seek(target) }
        let entry = try search.firstEntry(atOrAfter: target) { (i: Int) throws(DecodeError) -> Int in
            try seek(toRestart: i)
            return InternalKey.compare(key, target)
        }
        if entry < layout.restartCount {
            try seek(toRestart: entry)
        } else {
            current = limit
        }
    }

    // MARK: - Decoding

    /// Decodes the entry at `offset` into key/value; at `limit` the cursor
    /// becomes invalid. `keyCount` must hold the previous key's length.
    private mutating func parseEntry(at offset: Int) throws(DecodeError) {
        guard offset < limit else {
            current = limit
            return
        }
        var p = offset
        let shared = try readVarint32(&p)
        let nonShared = try readVarint32(&p)
        let valueLength = try readVarint32(&p)
        guard shared <= keyCount else {
            throw fail(offset, "entry shares \(shared) key bytes but the previous key has \(keyCount)")
        }
        guard nonShared <= limit - p, valueLength <= limit - p - nonShared else {
            throw fail(offset, "entry key \(nonShared) + value \(valueLength) bytes run past the entries")
        }
        let keyLength = shared + nonShared
        guard keyLength >= InternalKey.trailerSize else {
            throw fail(offset, "key of \(keyLength) bytes is shorter than the 8-byte trailer")
        }
        if keyLength > keyCapacity { growKeyBuffer(to: keyLength, keeping: shared) }
        // Assumes: [p, p + nonShared) was checked to lie inside the entry area above.
        (keyBuffer + shared).copyMemory(from: layout.base + p, byteCount: nonShared)
        keyCount = keyLength
        valueOffset = p + nonShared
        valueCount = valueLength
        nextOffset = valueOffset + valueLength
        current = offset
    }

    /// The full key of the entry at a restart point, in place in the block.
    private mutating func keyAtRestart(_ offset: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        var p = offset
        let shared = try readVarint32(&p)
        let nonShared = try readVarint32(&p)
        let valueLength = try readVarint32(&p)
        guard shared == 0 else { throw fail(offset, "restart entry shares \(shared) key bytes") }
        guard nonShared >= InternalKey.trailerSize, nonShared <= limit - p, valueLength <= limit - p - nonShared else {
            throw fail(offset, "restart entry key \(nonShared) + value \(valueLength) bytes do not fit")
        }
        return UnsafeRawBufferPointer(start: layout.base + p, count: nonShared)
    }

    /// A varint < 2^32 inside the entry area.
    @inline(__always)
    private mutating func readVarint32(_ p: inout Int) throws(DecodeError) -> Int {
        let start = p
        // One-byte lengths (keys and values under 128 bytes, and every
        // shared count under 128) are the common case.
        if p < limit {
            let b = layout.base.load(fromByteOffset: p, as: UInt8.self)
            if b < 0x80 {
                p += 1
                return Int(b)
            }
        }
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while p < limit {
            let b = layout.base.load(fromByteOffset: p, as: UInt8.self)
            p += 1
            if shift == 28 && b > 0x0f { break }
            result |= UInt32(b & 0x7f) << shift
            if b & 0x80 == 0 { return Int(result) }
            shift += 7
        }
        throw fail(start, "malformed or truncated varint")
    }

    private mutating func growKeyBuffer(to needed: Int, keeping prefix: Int) {
        let capacity = max(needed, keyCapacity * 2)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        fresh.copyMemory(from: keyBuffer, byteCount: prefix)
        if ownsKeyBuffer { keyBuffer.deallocate() }
        keyBuffer = fresh
        keyCapacity = capacity
        ownsKeyBuffer = true
    }

    private mutating func fail(_ offset: Int, _ reason: String) -> DecodeError {
        current = limit
        keyCount = 0
        return DecodeError(reason: "\(reason) (entry at block byte \(offset))", offset: offset)
    }
}
