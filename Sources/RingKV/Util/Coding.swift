/// Little-endian fixed-width and LEB128 varint encoding, the building blocks
/// of every format in docs/FORMAT.md (top of the page).
package struct ByteWriter {
    package var bytes: [UInt8]

    package init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package var count: Int { bytes.count }

    @inline(__always)
    mutating func append(_ b: UInt8) { bytes.append(b) }

    @inline(__always)
    mutating func append<C: Collection>(contentsOf c: C) where C.Element == UInt8 {
        bytes.append(contentsOf: c)
    }

    @inline(__always)
    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    @inline(__always)
    mutating func appendFixed32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendFixed64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always)
    mutating func appendVarint(_ value: Int) { appendVarint(UInt64(value)) }

    /// Varint length followed by the bytes.
    mutating func appendLengthPrefixed<C: Collection>(_ c: C) where C.Element == UInt8 {
        appendVarint(c.count)
        bytes.append(contentsOf: c)
    }

    /// Overwrites 4 bytes at `offset` with `v` (little endian).
    mutating func setFixed32(_ v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { raw in
            for i in 0..<4 { bytes[offset + i] = raw[i] }
        }
    }
}

/// Thrown by `ByteReader` when the input ends early or a varint is malformed;
/// callers turn it into a corruption error naming the file and offset.
package struct DecodeError: Error, Sendable {
    package var reason: String
    package var offset: Int
}

/// A bounds-checked cursor over bytes that came from disk. Every read
/// checks the remaining length, so truncated input throws instead of trapping.
package struct ByteReader {
    let base: UnsafeRawBufferPointer
    private(set) var position: Int

    package init(_ base: UnsafeRawBufferPointer, position: Int = 0) {
        self.base = base
        self.position = position
    }

    var remaining: Int { base.count - position }
    var isAtEnd: Bool { position >= base.count }

    @inline(__always)
    mutating func readByte() throws(DecodeError) -> UInt8 {
        guard position < base.count else { throw DecodeError(reason: "unexpected end of data", offset: position) }
        defer { position += 1 }
        return base[position]
    }

    @inline(__always)
    mutating func readFixed32() throws(DecodeError) -> UInt32 {
        guard remaining >= 4 else { throw DecodeError(reason: "truncated fixed32", offset: position) }
        defer { position += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    @inline(__always)
    mutating func readFixed64() throws(DecodeError) -> UInt64 {
        guard remaining >= 8 else { throw DecodeError(reason: "truncated fixed64", offset: position) }
        defer { position += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    @inline(__always)
    mutating func readVarint64() throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift <= 63 {
            let b = try readByte()
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw DecodeError(reason: "varint longer than 10 bytes", offset: position)
    }

    /// A varint that must fit in `Int` and be at most `limit`.
    @inline(__always)
    mutating func readLength(limit: Int = Int(Int32.max)) throws(DecodeError) -> Int {
        let start = position
        let v = try readVarint64()
        guard v <= UInt64(limit) else { throw DecodeError(reason: "length \(v) exceeds \(limit)", offset: start) }
        return Int(v)
    }

    /// The next `count` bytes as a slice of the underlying buffer.
    @inline(__always)
    mutating func readBytes(_ count: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else {
            throw DecodeError(reason: "truncated: need \(count) bytes, have \(remaining)", offset: position)
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: base[position..<position + count])
    }

    mutating func readLengthPrefixed(limit: Int = Int(Int32.max)) throws(DecodeError) -> UnsafeRawBufferPointer {
        try readBytes(try readLength(limit: limit))
    }

    mutating func skip(_ count: Int) throws(DecodeError) { _ = try readBytes(count) }
}
