import KVBenchCore
import RingIO
import Testing

/// `BulkRecords` (kvbench --workload ingest's records) makes the bytes of
/// their definition — the digit-by-digit key and the SplitMix64 value that
/// Peers/rocksdb/ingest_rocksdb.c also makes — so a faster generator never
/// changes the benchmark's workload.
@Suite struct BulkRecordsTests {
    /// The definition: "k" then 15 digits, the last digit first.
    static func referenceKey(_ i: Int64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        out[0] = UInt8(ascii: "k")
        var n = i
        for at in stride(from: 15, through: 1, by: -1) {
            out[at] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        }
        return out
    }

    /// The definition: SplitMix64 seeded with i, little-endian words, the
    /// last word's low bytes first.
    static func referenceValue(_ i: Int64, _ count: Int) -> [UInt8] {
        var rng = SplitMix64(seed: UInt64(i))
        var out: [UInt8] = []
        while out.count + 8 <= count {
            var w = rng.next()
            for _ in 0..<8 { out.append(UInt8(w & 0xff)); w >>= 8 }
        }
        var w = rng.next()
        while out.count < count { out.append(UInt8(w & 0xff)); w >>= 8 }
        return out
    }

    @Test func keysAreTheDigitByDigitKeys() {
        var edges: [Int64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 1_234_567, 9_999_999, 10_000_000,
                              999_999_999_999_999, 1_000_000_000_000_000, 1_234_567_890_123_456, Int64.max]
        var rng = SplitMix64(seed: 23)
        for _ in 0..<20_000 { edges.append(Int64(rng.next() % 2_000_000_000_000_000)) }
        for i in 0..<Int64(20_000) { edges.append(i) }
        var key = [UInt8](repeating: 0xEE, count: 16)
        for i in edges {
            BulkRecords.key(i, into: &key)
            #expect(key == Self.referenceKey(i), "key \(i)")
        }
        BulkRecords.key(1_234_567, into: &key)
        #expect(String(decoding: key, as: UTF8.self) == "k000000001234567")
    }

    @Test func valuesAreSplitMix64Words() {
        for count in [0, 1, 7, 8, 9, 15, 16, 100, 1000] {
            for i: Int64 in [0, 1, 2, 77, 1_000_003, 9_999_999] {
                var value = [UInt8](repeating: 0xEE, count: count)
                BulkRecords.value(i, into: &value)
                #expect(value == Self.referenceValue(i, count), "value \(i) of \(count) bytes")
            }
        }
    }
}
