import RingIO

/// The records of `kvbench --workload ingest` (IngestMode.swift): record i
/// has the 16-byte key "k" + i in 15 decimal digits (zero-padded; higher
/// digits dropped) and a value of SplitMix64 output seeded with i, 8
/// little-endian bytes at a time, the last word cut to the length —
/// byte for byte what Peers/rocksdb/ingest_rocksdb.c makes.
///
/// Both sides of the ingest benchmark generate every record inside their
/// timed loops, so this is written to cost little: the key's digits two
/// at a time with no bounds or overflow checks (the digit-by-digit loop
/// over a `[UInt8]` took ~400 of the ~1,470 instructions per record of the
/// ingest side's timed thread, callgrind); the bytes are unchanged
/// (`BulkRecordsTests` pins them against the digit-by-digit definition).
/// `@inlinable`: kvbench's loops are in another module.
public enum BulkRecords {
    public static let keySizeBytes = 16

    /// Writes record `i`'s key (`i` >= 0) into `buffer`'s first 16 bytes.
    @inlinable @inline(__always)
    public static func key(_ i: Int64, into buffer: inout [UInt8]) {
        precondition(buffer.count >= keySizeBytes, "key buffer shorter than 16 bytes")
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            key(i, into: base)
        }
    }

    /// Writes record `i`'s key (`i` >= 0) at `base` (16 bytes).
    @inlinable @inline(__always)
    public static func key(_ i: Int64, into base: UnsafeMutableRawPointer) {
        base.storeBytes(of: UInt8(ascii: "k"), as: UInt8.self)
        var n = UInt64(truncatingIfNeeded: i)
        // Digits 15 down to 2, two at a time, then digit 1.
        var at = 14
        while at >= 2 {
            let q = n / 100
            let r = UInt32(truncatingIfNeeded: n &- q &* 100)
            let tens = (r &* 205) >> 11  // r / 10 for r < 100
            let ones = r &- tens &* 10
            let pair = UInt16(truncatingIfNeeded: 0x30 &+ tens) | UInt16(truncatingIfNeeded: 0x30 &+ ones) << 8
            base.storeBytes(of: pair.littleEndian, toByteOffset: at, as: UInt16.self)
            n = q
            at -= 2
        }
        base.storeBytes(of: 0x30 &+ UInt8(truncatingIfNeeded: n % 10), toByteOffset: 1, as: UInt8.self)
    }

    /// Fills `buffer` with record `i`'s value.
    @inlinable @inline(__always)
    public static func value(_ i: Int64, into buffer: inout [UInt8]) {
        buffer.withUnsafeMutableBytes { raw in value(i, into: raw) }
    }

    /// Fills `raw` with record `i`'s value.
    @inlinable @inline(__always)
    public static func value(_ i: Int64, into raw: UnsafeMutableRawBufferPointer) {
        guard let base = raw.baseAddress else { return }
        var rng = SplitMix64(seed: UInt64(bitPattern: i))
        let count = raw.count
        var at = 0
        while at + 8 <= count {
            base.storeBytes(of: rng.next().littleEndian, toByteOffset: at, as: UInt64.self)
            at += 8
        }
        var word = rng.next()
        while at < count {
            base.storeBytes(of: UInt8(truncatingIfNeeded: word), toByteOffset: at, as: UInt8.self)
            word >>= 8
            at += 1
        }
    }
}
