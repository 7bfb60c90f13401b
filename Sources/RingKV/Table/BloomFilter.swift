/// A full-table bloom filter over user keys (docs/FORMAT.md §SSTable
/// "Filter block"):
///
///     bits        n bytes (n >= 8); bit i is byte i/8, mask 1 << (i%8)
///     probes      u8, the number of probes k (1...30)
///
/// Probing (double hashing, Kirsch–Mitzenmacher): h = BloomHash.hash64(key),
/// h1 = low 32 bits, h2 = high 32 bits; probe j (0 ..< k) tests bit
/// ((UInt64(UInt32(h1 &+ j &* h2)) * m) >> 32), m = 8n — a multiply-shift
/// range reduction in place of a modulo. No false negatives; with 10 bits
/// per key and k = 7 the false positive rate is about 0.8 %.
package struct BloomFilter: Sendable {
    let bits: [UInt8]
    let probeCount: Int

    /// k = round(bitsPerKey * ln 2) clamped to 1...30: the k that minimises
    /// the false-positive rate for that many bits per key.
    static func probeCount(bitsPerKey: Int) -> Int {
        min(30, max(1, Int((Double(bitsPerKey) * 0.693_147_180_559_945).rounded())))
    }

    package init(bits: [UInt8], probeCount: Int) {
        self.bits = bits
        self.probeCount = probeCount
    }

    /// Parses an encoded filter; throws when it cannot be one.
    package init(decoding bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        guard bytes.count >= 9 else {
            throw DecodeError(reason: "filter of \(bytes.count) bytes is shorter than 8 bit bytes + probe count", offset: 0)
        }
        let k = Int(bytes[bytes.count - 1])
        guard (1...30).contains(k) else {
            throw DecodeError(reason: "filter probe count \(k) is outside 1...30", offset: bytes.count - 1)
        }
        bits = Array(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 1)]))
        probeCount = k
    }

    package func mayContain(_ userKey: UnsafeRawBufferPointer) -> Bool {
        mayContain(hash: BloomHash.hash64(userKey))
    }

    /// For callers that hash a key once and probe several tables.
    package func mayContain(hash: UInt64) -> Bool {
        let bitCount = UInt64(bits.count) * 8
        let h1 = UInt32(truncatingIfNeeded: hash)
        let h2 = UInt32(truncatingIfNeeded: hash >> 32)
        return bits.withUnsafeBufferPointer { b in
            var g = h1
            for _ in 0..<probeCount {
                let bit = Int((UInt64(g) &* bitCount) >> 32)
                if b[bit >> 3] & (1 << UInt8(bit & 7)) == 0 { return false }
                g = g &+ h2
            }
            return true
        }
    }
}

/// Collects the hashes of a table's distinct user keys and encodes the filter.
package struct BloomFilterBuilder {
    let bitsPerKey: Int
    private var hashes: [UInt64] = []

    package init(bitsPerKey: Int) {
        precondition(bitsPerKey >= 1, "bloom filter needs at least 1 bit per key")
        self.bitsPerKey = bitsPerKey
    }

    var keyCount: Int { hashes.count }

    package mutating func add(_ userKey: UnsafeRawBufferPointer) {
        hashes.append(BloomHash.hash64(userKey))
    }

    /// The encoded filter (bits ++ probe count).
    package func finish() -> [UInt8] {
        let k = BloomFilter.probeCount(bitsPerKey: bitsPerKey)
        let byteCount = max(8, (hashes.count * bitsPerKey + 7) / 8)
        let bitCount = UInt64(byteCount) * 8
        var out = [UInt8](repeating: 0, count: byteCount + 1)
        out.withUnsafeMutableBufferPointer { b in
            for hash in hashes {
                let h2 = UInt32(truncatingIfNeeded: hash >> 32)
                var g = UInt32(truncatingIfNeeded: hash)
                for _ in 0..<k {
                    let bit = Int((UInt64(g) &* bitCount) >> 32)
                    b[bit >> 3] |= 1 << UInt8(bit & 7)
                    g = g &+ h2
                }
            }
            b[byteCount] = UInt8(k)
        }
        return out
    }
}

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
