/// The bytes of one memtable entry inside the arena (docs/MEMTABLE.md):
///
///     varint32 internalKeyLength | user key | fixed64 LE (seq << 8 | type)
///     | varint32 valueLength | value                   (valueLength <= 64)
///                            | fixed64 LE value address (valueLength > 64)
///
/// A value longer than `inlineValueMaxBytes` lives apart, in the
/// memtable's value arena: nodes then stay a few dozen bytes each and sit
/// close together, so a skiplist search touches far fewer cache lines and
/// pages than when every node carried its value (1000-byte values spread
/// the nodes 1 KiB apart: `SkipList.insert` was 19 % of a load's CPU).
///
/// The memory is written once by the inserter before the node holding it is
/// published, and never changes afterwards; it is trusted, so decoding does
/// no bounds checks. It never reaches disk.
enum MemTableEntry {
    /// Longest user key or value an entry can hold (lengths are varint32).
    static let maxLengthBytes = Int(UInt32.max) - InternalKey.trailerSize

    /// Longest value kept in the entry itself.
    static let inlineValueMaxBytes = 64

    /// Whether a value of `valueBytes` is stored apart (`encode`'s
    /// `outOfLineValue`).
    @inline(__always)
    static func storesValueApart(_ valueBytes: Int) -> Bool { valueBytes > inlineValueMaxBytes }

    /// Bytes of the entry in the node (a value stored apart counts its
    /// 8-byte address, not its bytes).
    static func encodedSizeBytes(userKeyBytes: Int, valueBytes: Int) -> Int {
        let internalKeyBytes = userKeyBytes + InternalKey.trailerSize
        return varintLength(UInt32(internalKeyBytes)) + internalKeyBytes
            + varintLength(UInt32(valueBytes)) + (storesValueApart(valueBytes) ? 8 : valueBytes)
    }

    /// Writes the entry at `destination`, which has room for
    /// `encodedSizeBytes(userKeyBytes: userKey.count, valueBytes: value.count)`.
    /// When `storesValueApart(value.count)`, `outOfLineValue` holds a copy
    /// of the value already, and the entry records its address.
    static func encode(
        to destination: UnsafeMutableRawPointer,
        userKey: UnsafeRawBufferPointer,
        trailer: UInt64,
        value: UnsafeRawBufferPointer,
        outOfLineValue: UnsafeRawPointer?
    ) {
        var p = destination
        p += writeVarint(UInt32(userKey.count + InternalKey.trailerSize), to: p)
        if let base = userKey.baseAddress, userKey.count > 0 {
            p.copyMemory(from: base, byteCount: userKey.count)
            p += userKey.count
        }
        p.storeBytes(of: trailer.littleEndian, as: UInt64.self)  // storeBytes tolerates any alignment
        p += InternalKey.trailerSize
        p += writeVarint(UInt32(value.count), to: p)
        if storesValueApart(value.count) {
            precondition(outOfLineValue != nil, "a long memtable value needs its out-of-line copy")
            p.storeBytes(of: UInt64(UInt(bitPattern: outOfLineValue)).littleEndian, as: UInt64.self)
        } else if let base = value.baseAddress, value.count > 0 {
            p.copyMemory(from: base, byteCount: value.count)
        }
    }

    /// The internal key (user key + trailer) of the entry at `entry`.
    @inline(__always)
    static func internalKey(at entry: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        let (length, lengthBytes) = readVarint32(at: entry)
        return UnsafeRawBufferPointer(start: entry + lengthBytes, count: Int(length))
    }

    /// The value of an entry, given its internal key as `internalKey(at:)`
    /// returned it (the value's length follows the key directly).
    @inline(__always)
    static func value(following internalKey: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        // An internal key is never empty (it holds at least the trailer), so
        // baseAddress is set.
        let lengthAt = internalKey.baseAddress.unsafelyUnwrapped + internalKey.count
        let (length, lengthBytes) = readVarint32(at: lengthAt)
        if storesValueApart(Int(length)) {
            let address = UInt64(littleEndian: (lengthAt + lengthBytes).loadUnaligned(as: UInt64.self))
            return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address)), count: Int(length))
        }
        return UnsafeRawBufferPointer(start: lengthAt + lengthBytes, count: Int(length))
    }

    // MARK: - varint32 on trusted raw memory

    @inline(__always)
    static func varintLength(_ value: UInt32) -> Int {
        var v = value, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    @inline(__always)
    private static func writeVarint(_ value: UInt32, to p: UnsafeMutableRawPointer) -> Int {
        var v = value, n = 0
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: n, as: UInt8.self)
            v >>= 7
            n += 1
        }
        p.storeBytes(of: UInt8(v), toByteOffset: n, as: UInt8.self)
        return n + 1
    }

    @inline(__always)
    private static func readVarint32(at p: UnsafeRawPointer) -> (value: UInt32, lengthBytes: Int) {
        let first = p.load(as: UInt8.self)
        if first < 0x80 { return (UInt32(first), 1) }  // keys and values under 128 bytes
        var result: UInt32 = 0, shift: UInt32 = 0, n = 0
        while true {
            let b = p.load(fromByteOffset: n, as: UInt8.self)
            result |= UInt32(b & 0x7f) << shift
            n += 1
            if b & 0x80 == 0 { return (result, n) }
            shift += 7
        }
    }
}
