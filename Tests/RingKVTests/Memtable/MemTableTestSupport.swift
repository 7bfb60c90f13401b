import Glibc
import RingIO
@testable import RingKV

/// Helpers shared by the memtable tests: [UInt8] wrappers over the raw-buffer
/// API, a seeded PRNG and reference ordering.
enum MemTableTestSupport {
    /// The seed for a randomized test: `RINGKV_SEED` from the environment when
    /// set (to replay a failure), else a fresh one. Tests print it on failure.
    static func seed() -> UInt64 {
        if let text = getenv("RINGKV_SEED"), let value = UInt64(String(cString: text)) { return value }
        return UInt64.random(in: 1...UInt64.max)
    }

    /// Reproducible from a seed, cheap, Sendable.
    typealias Random = SplitMix64

    static func add(_ m: MemTable, _ sequence: SequenceNumber, _ type: ValueType, _ key: [UInt8], _ value: [UInt8] = []) {
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in m.add(sequence: sequence, type: type, key: k, value: v) } }
    }

    static func get(_ m: MemTable, _ key: [UInt8], snapshot: SequenceNumber = InternalKey.maxSequenceNumber) -> MemTable.LookupResult {
        key.withUnsafeBytes { m.get($0, snapshot: snapshot) }
    }

    /// Every (internal key, value) of the memtable, copied, in order.
    static func allEntries(_ m: MemTable) -> [(key: [UInt8], value: [UInt8])] {
        let it = m.makeIterator()
        it.seekToFirst()
        return drain(it)
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Copies out every (internal key, value) from the iterator's position on.
    static func drain(_ it: MemTableIterator) -> [(key: [UInt8], value: [UInt8])] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        while it.isValid {
            out.append((Array(it.key), Array(it.value)))
            it.next()
        }
        return out
    }

    static func compareInternal(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in InternalKey.compare(pa, pb) } }
    }

    /// A value that is a pure function of the key, so a reader can tell a
    /// torn or mismatched entry from a good one.
    static func valueFor(key: [UInt8]) -> [UInt8] {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let length = Int(h % 48)
        return (0..<length).map { UInt8(truncatingIfNeeded: h >> UInt64(($0 % 8) * 8)) ^ UInt8(truncatingIfNeeded: $0) }
    }
}
