import Glibc

/// Sequence numbers are 56 bits; the low 8 bits of the trailer hold the type
/// (docs/FORMAT.md §Internal keys).
package typealias SequenceNumber = UInt64

package enum ValueType: UInt8 {
    case deletion = 0
    case value = 1
    /// A write batch operation only (docs/FORMAT.md §WAL payload): a range
    /// tombstone, never an internal key's type; tables keep range
    /// tombstones in their range deletion block.
    case rangeDeletion = 2
    /// A merge operand (docs/FORMAT.md §Merge operands, format version 6):
    /// the entry's value is an operand for `Options.mergeOperator`, folded
    /// with the key's older entries on read.
    case merge = 3
}

package enum InternalKey {
    package static let trailerSize = 8
    package static let maxSequenceNumber: SequenceNumber = (1 << 56) - 1
    /// The type that sorts first for a given (key, sequence): used to build
    /// seek keys, since trailers sort descending. The largest type an
    /// internal key may carry (merge, 3), so a seek at sequence s finds an
    /// operand written at s too. (Index separators keep type 1: their user
    /// key lies strictly between two tables' keys, so any type orders them
    /// the same, and the bytes stay as before format 6.)
    static let typeForSeek = ValueType.merge

    @inline(__always)
    static func packTrailer(_ sequence: SequenceNumber, _ type: ValueType) -> UInt64 {
        (sequence << 8) | UInt64(type.rawValue)
    }

    @inline(__always)
    package static func unpackTrailer(_ trailer: UInt64) -> (sequence: SequenceNumber, type: UInt8) {
        (trailer >> 8, UInt8(truncatingIfNeeded: trailer))
    }

    /// user key ++ fixed64(sequence << 8 | type)
    package static func make(_ userKey: [UInt8], _ sequence: SequenceNumber, _ type: ValueType) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(userKey.count + trailerSize)
        out.append(contentsOf: userKey)
        withUnsafeBytes(of: packTrailer(sequence, type).littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The user-key part of an encoded internal key (count >= 8).
    @inline(__always)
    package static func userKey(_ ikey: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: ikey[0..<(ikey.count - trailerSize)])
    }

    @inline(__always)
    package static func trailer(_ ikey: UnsafeRawBufferPointer) -> UInt64 {
        UInt64(littleEndian: ikey.loadUnaligned(fromByteOffset: ikey.count - trailerSize, as: UInt64.self))
    }

    /// Calls `body` with userKey ++ fixed64(trailer), built in temporary
    /// memory (no heap allocation for keys up to the stack's limit).
    static func withEncoded<R, E: Error>(_ userKey: UnsafeRawBufferPointer, trailer: UInt64,
                                         _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let count = userKey.count + trailerSize
        return try withTemporaryBytes(byteCount: count, alignment: 8) { (buffer) throws(E) in
            // Assumes: buffer holds userKey.count + 8 bytes.
            if let src = userKey.baseAddress, userKey.count > 0 {
                buffer.baseAddress!.copyMemory(from: src, byteCount: userKey.count)
            }
            buffer.storeBytes(of: trailer.littleEndian, toByteOffset: userKey.count, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The smallest internal key of `userKey` (sorts before all its
    /// versions): seeking it forward finds the key's newest entry; seeking
    /// it for prev finds the last entry of an earlier user key.
    static let firstTrailer = packTrailer(maxSequenceNumber, typeForSeek)
    /// The largest internal key of `userKey` (sorts after all its versions).
    static let lastTrailer: UInt64 = 0

    /// Orders by user key ascending (bytewise), then trailer descending, so
    /// the newest version of a key comes first.
    @inline(__always)
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let c = compareBytes(userKey(a), userKey(b))
        if c != 0 { return c }
        let ta = trailer(a), tb = trailer(b)
        return ta > tb ? -1 : (ta < tb ? 1 : 0)
    }
}

/// Bytewise comparison (memcmp, then shorter first): the user-key order.
@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let c = memcmp(a.baseAddress!, b.baseAddress!, n)
        if c != 0 { return c < 0 ? -1 : 1 }
    }
    return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
}

@inline(__always)
func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in compareBytes(pa, pb) } }
}
