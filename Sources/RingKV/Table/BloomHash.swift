/// The 64-bit hash behind the bloom filter: a MurmurHash3-style mix written
/// for RingKV (it is *not* bit-compatible with MurmurHash3 and must never
/// change, since filters on disk depend on it — docs/FORMAT.md §SSTable).
///
///     h = 0x9E3779B97F4A7C15 ^ (len * c1)
///     per 8-byte little-endian word w:  w *= c1; w = rotl(w, 31); w *= c2
///                                       h ^= w; h = rotl(h, 27) * 5 + 0x52DCE729
///     last 1...7 bytes as a little-endian word t: t *= c1; t = rotl(t, 31); t *= c2; h ^= t
///     h ^= len; finalise: h ^= h >> 33; h *= 0xFF51AFD7ED558CCD; h ^= h >> 33;
///                         h *= 0xC4CEB9FE1A85EC53; h ^= h >> 33
///     c1 = 0x87C37B91114253D5, c2 = 0x4CF5AD432745937F (all arithmetic mod 2^64)
enum BloomHash {
    static let c1: UInt64 = 0x87C3_7B91_1142_53D5
    static let c2: UInt64 = 0x4CF5_AD43_2745_937F

    @inline(__always)
    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always)
    private static func scramble(_ w: UInt64) -> UInt64 { rotl(w &* c1, 31) &* c2 }

    static func hash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let length = bytes.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(length) &* c1)
        var i = 0
        while i + 8 <= length {
            let w = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            h ^= scramble(w)
            h = rotl(h, 27) &* 5 &+ 0x52DC_E729
            i += 8
        }
        if i < length {
            var t: UInt64 = 0
            var shift: UInt64 = 0
            while i < length {
                t |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h ^= scramble(t)
        }
        h ^= UInt64(length)
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    static func hash64(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { hash64($0) } }
}
