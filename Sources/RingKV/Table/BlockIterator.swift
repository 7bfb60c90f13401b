/// Walks the entries of one `Block` in key order. Every read is checked
/// against the entry area, so a malformed block throws
/// `DBError.corruption` instead of trapping or reading out of bounds.
///
/// The current key is rebuilt (prefix + suffix) in a buffer the iterator
/// owns; `key` points there and `value` points into the block. Both stay
/// valid until the cursor moves; the iterator keeps its block alive.
package final class BlockIterator: InternalIterator {
    let block: Block
    private let base: UnsafeRawPointer
    /// End of the entry area (start of the restart array).
    private let limit: Int

    private var keyBuffer: UnsafeMutableRawPointer
    private var keyCapacity: Int
    private var keyCount = 0

    /// Offset of the current entry; == limit when not valid.
    private var current: Int
    /// Offset of the entry after the current one.
    private var nextOffset = 0
    private var valueOffset = 0
    private var valueCount = 0

    init(_ block: Block) {
        self.block = block
        self.base = block.base
        self.limit = block.restartsOffset
        self.current = block.restartsOffset
        self.keyCapacity = 64
        self.keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    }

    deinit { keyBuffer.deallocate() }

    package var isValid: Bool { current < limit }

    package var key: UnsafeRawBufferPointer {
        precondition(isValid, "BlockIterator.key on an invalid iterator")
        return UnsafeRawBufferPointer(start: keyBuffer, count: keyCount)
    }

    package var value: UnsafeRawBufferPointer {
        precondition(isValid, "BlockIterator.value on an invalid iterator")
        return UnsafeRawBufferPointer(start: base + valueOffset, count: valueCount)
    }

    package func seekToFirst() throws {
        keyCount = 0
        try parseEntry(at: 0)
    }

    package func next() throws {
        precondition(isValid, "BlockIterator.next on an invalid iterator")
        try parseEntry(at: nextOffset)
    }

    /// Binary search over the restart points for the last one whose key is
    /// < target, then a linear scan to the first key >= target.
    func seek(_ target: UnsafeRawBufferPointer) throws {
        var left = 0
        var right = block.restartCount - 1
        while left < right {
            let mid = (left + right + 1) / 2
            let restartKey = try keyAtRestart(try block.restartPoint(mid))
            if InternalKey.compare(restartKey, target) < 0 {
                left = mid
            } else {
                right = mid - 1
            }
        }
        keyCount = 0
        try parseEntry(at: try block.restartPoint(left))
        while isValid && InternalKey.compare(key, target) < 0 {
            try parseEntry(at: nextOffset)
        }
    }

    // MARK: - Decoding

    /// Decodes the entry at `offset` into key/value; at `limit` the iterator
    /// becomes invalid. `keyCount` must hold the previous key's length.
    private func parseEntry(at offset: Int) throws {
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
        (keyBuffer + shared).copyMemory(from: base + p, byteCount: nonShared)
        keyCount = keyLength
        valueOffset = p + nonShared
        valueCount = valueLength
        nextOffset = valueOffset + valueLength
        current = offset
    }

    /// The full key of the entry at a restart point, in place in the block.
    private func keyAtRestart(_ offset: Int) throws -> UnsafeRawBufferPointer {
        var p = offset
        let shared = try readVarint32(&p)
        let nonShared = try readVarint32(&p)
        let valueLength = try readVarint32(&p)
        guard shared == 0 else { throw fail(offset, "restart entry shares \(shared) key bytes") }
        guard nonShared >= InternalKey.trailerSize, nonShared <= limit - p, valueLength <= limit - p - nonShared else {
            throw fail(offset, "restart entry key \(nonShared) + value \(valueLength) bytes do not fit")
        }
        return UnsafeRawBufferPointer(start: base + p, count: nonShared)
    }

    /// A varint < 2^32 inside the entry area.
    @inline(__always)
    private func readVarint32(_ p: inout Int) throws -> Int {
        let start = p
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while p < limit {
            let b = base.load(fromByteOffset: p, as: UInt8.self)
            p += 1
            if shift == 28 && b > 0x0f { break }
            result |= UInt32(b & 0x7f) << shift
            if b & 0x80 == 0 { return Int(result) }
            shift += 7
        }
        throw fail(start, "malformed or truncated varint")
    }

    private func growKeyBuffer(to needed: Int, keeping prefix: Int) {
        let capacity = max(needed, keyCapacity * 2)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        fresh.copyMemory(from: keyBuffer, byteCount: prefix)
        keyBuffer.deallocate()
        keyBuffer = fresh
        keyCapacity = capacity
    }

    private func fail(_ offset: Int, _ reason: String) -> DBError {
        current = limit
        keyCount = 0
        return block.corruption("\(reason) (entry at block byte \(offset))")
    }
}
