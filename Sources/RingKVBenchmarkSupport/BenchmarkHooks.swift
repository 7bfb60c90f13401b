import RingIO
import RingKV

/// Entry points for the micro-benchmarks in `Benchmarks/` (a separate
/// package, so it cannot see internal types): each runs one engine
/// component on prepared inputs, the same code the engine runs. Not part
/// of the stable API.
public enum BenchmarkHooks {
    /// Internal keys for `count` user keys "keyNNNNNNNNNN" at sequence 1.
    public static func internalKeys(count: Int) -> [[UInt8]] {
        (0..<count).map { i in
            let digits = String(i)
            let user = Array(("key" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits).utf8)
            return InternalKey.make(user, 1, .value)
        }
    }

    /// Inserts every key (internal keys from `internalKeys`) with `value`
    /// into a fresh memtable; returns its memory use.
    @discardableResult
    public static func memtableInsert(_ internalKeys: [[UInt8]], value: [UInt8]) -> Int {
        let memtable = MemTable()
        value.withUnsafeBytes { v in
            for (i, ikey) in internalKeys.enumerated() {
                ikey.withUnsafeBytes { k in
                    memtable.add(sequence: UInt64(i + 1), type: .value,
                                 key: InternalKey.userKey(k), value: v)
                }
            }
        }
        return memtable.approximateMemoryUsageBytes
    }

    /// A memtable holding the keys, for `memtableLookup`.
    public final class MemTableHandle: @unchecked Sendable {
        // @unchecked Sendable: the memtable is thread-safe for readers.
        let memtable: MemTable
        init(_ memtable: MemTable) { self.memtable = memtable }
    }

    public static func memtable(holding internalKeys: [[UInt8]], value: [UInt8]) -> MemTableHandle {
        let memtable = MemTable()
        value.withUnsafeBytes { v in
            for (i, ikey) in internalKeys.enumerated() {
                ikey.withUnsafeBytes { memtable.add(sequence: UInt64(i + 1), type: .value, key: InternalKey.userKey($0), value: v) }
            }
        }
        return MemTableHandle(memtable)
    }

    /// Whether `userKey` is found (a point lookup at the newest snapshot).
    public static func memtableLookup(_ handle: MemTableHandle, userKey: [UInt8]) -> Bool {
        userKey.withUnsafeBytes {
            if case .found = handle.memtable.get($0, snapshot: InternalKey.maxSequenceNumber) { return true }
            return false
        }
    }

    /// Encodes sorted internal keys with `value` into one data block
    /// (prefix compression, restart points); returns the block bytes.
    public static func encodeBlock(_ internalKeys: [[UInt8]], value: [UInt8]) -> [UInt8] {
        var builder = BlockBuilder(restartInterval: 16)
        value.withUnsafeBytes { v in
            for ikey in internalKeys { ikey.withUnsafeBytes { builder.add($0, v) } }
        }
        return builder.finish()
    }

    /// Decodes a block from `encodeBlock` and walks every entry; returns
    /// the entry count.
    public static func decodeBlock(_ bytes: [UInt8]) throws -> Int {
        let it = try Block.make(copying: bytes).makeIterator()
        try it.seekToFirst()
        var n = 0
        while it.isValid {
            n += 1
            try it.next()
        }
        return n
    }

    /// A bloom filter over the user keys, `bitsPerKey` bits each.
    public struct Bloom: Sendable {
        let filter: BloomFilter
    }

    public static func bloom(userKeys: [[UInt8]], bitsPerKey: Int = 10) -> Bloom {
        var builder = BloomFilterBuilder(bitsPerKey: bitsPerKey)
        for key in userKeys { key.withUnsafeBytes { builder.add($0) } }
        let bits = builder.finish()
        let filter = (try? bits.withUnsafeBytes { try BloomFilter(decoding: $0) })
            ?? BloomFilter(bits: [], probeCount: 1)
        return Bloom(filter: filter)
    }

    public static func bloomMayContain(_ bloom: Bloom, _ userKey: [UInt8]) -> Bool {
        userKey.withUnsafeBytes { bloom.filter.mayContain($0) }
    }

    /// Writes the sorted internal keys with `value` as one SSTable at `path`
    /// (O_DIRECT when allowed, LZ4, bloom filter, fsync); returns its size.
    @discardableResult
    public static func writeTable(path: String, _ internalKeys: [[UInt8]], value: [UInt8]) throws -> UInt64 {
        let file = try ioCall(path) { () throws(IOError) in
            try File.open(path, [.readWrite, .create, .truncate], direct: .preferred)
        }
        defer { try? file.close() }
        let builder = TableBuilder(file: file, backend: IOBackends.makeDefault(), options: TableBuilderOptions())
        for ikey in internalKeys { try builder.add(ikey, value) }
        return try builder.finish().fileSizeBytes
    }
}
