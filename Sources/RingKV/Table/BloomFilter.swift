import CRingSupport

/// A full-table bloom filter over user keys (docs/FORMAT.md §SSTable
/// "Filter block"), in one of two layouts told apart by the last byte:
///
/// - **blocked** (written since database format 4): every probe of a key
///   falls in one 64-byte block, so a lookup costs one cache miss per
///   table instead of one per probe (RocksDB moved to the same idea in its
///   format 5). With L0 16 tables deep, a get probed 16 filters at 7
///   misses each: 44 % of a YCSB C client thread's CPU (perf, 4M × 1000 B
///   in 2 GiB; docs/ARCHITECTURE.md §Read path).
///
///       blocks      64 × n bytes (n >= 1); bit i of block b is
///                   byte 64b + i/8, mask 1 << (i%8)
///       probes      u8, k (1...30)
///       layout      u8, 0x80
///
///   h = BloomHash.hash64(key); block = (UInt64(h >> 32) × n) >> 32;
///   g = UInt32(h & 0xFFFF_FFFF); k times: g = g × 0x9E3779B9 (mod 2^32),
///   test bit g >> 23 (0...511) of the block. 10 bits per key: n =
///   ceil(keys × 10 / 512), k = 6, about 1 % false positives.
///
/// - **legacy** (tables of databases before format 4, still read):
///
///       bits        n bytes (n >= 8); bit i is byte i/8, mask 1 << (i%8)
///       probes      u8, the number of probes k (1...30)
///
///   h1 = low 32 bits, h2 = high 32 bits; probe j (0 ..< k) tests bit
///   ((UInt64(UInt32(h1 &+ j &* h2)) * m) >> 32), m = 8n (double hashing,
///   multiply-shift range reduction); k = round(bits per key × ln 2).
///
/// No false negatives either way.
package struct BloomFilter: Sendable {
    enum Layout: Sendable { case blocked, legacy }

    let layout: Layout
    let probeCount: Int
    /// The filter bits, 64-byte aligned (a block is one cache line).
    private let memory: FilterMemory
    /// Blocked: the number of 64-byte blocks. Legacy: the number of bits.
    private let span: UInt64

    /// The last byte of a blocked filter (legacy filters end with k <= 30).
    static let blockedLayoutMarker: UInt8 = 0x80
    static let blockBytes = 64

    /// Legacy layout: k = round(bitsPerKey * ln 2) clamped to 1...30, the k
    /// that minimises the false-positive rate for that many bits per key.
    static func probeCount(bitsPerKey: Int) -> Int {
        min(30, max(1, Int((Double(bitsPerKey) * 0.693_147_180_559_945).rounded())))
    }

    /// Blocked layout: a little below the legacy k (keys crowd unevenly
    /// into blocks, so fewer probes per key do better): 6 for 10 bits.
    static func blockedProbeCount(bitsPerKey: Int) -> Int {
        min(30, max(1, Int((Double(bitsPerKey) * 0.6).rounded())))
    }

    /// A legacy filter over raw bits (benchmarks' fallback, tests).
    package init(bits: [UInt8], probeCount: Int) {
        layout = .legacy
        self.probeCount = probeCount
        memory = bits.withUnsafeBytes { FilterMemory(copying: $0) }
        span = UInt64(bits.count) * 8
    }

    /// Parses an encoded filter; throws when it cannot be one.
    package init(decoding bytes: UnsafeRawBufferPointer) throws(DecodeError) {
        guard bytes.count >= 2 else {
            throw DecodeError(reason: "filter of \(bytes.count) bytes is too short", offset: 0)
        }
        if bytes[bytes.count - 1] == BloomFilter.blockedLayoutMarker {
            let k = Int(bytes[bytes.count - 2])
            guard (1...30).contains(k) else {
                throw DecodeError(reason: "filter probe count \(k) is outside 1...30", offset: bytes.count - 2)
            }
            let blockBytes = bytes.count - 2
            guard blockBytes >= BloomFilter.blockBytes, blockBytes % BloomFilter.blockBytes == 0 else {
                throw DecodeError(reason: "blocked filter of \(blockBytes) bytes is not a whole number of 64-byte blocks",
                                  offset: 0)
            }
            layout = .blocked
            probeCount = k
            memory = FilterMemory(copying: UnsafeRawBufferPointer(rebasing: bytes[0..<blockBytes]))
            span = UInt64(blockBytes / BloomFilter.blockBytes)
            return
        }
        guard bytes.count >= 9 else {
            throw DecodeError(reason: "filter of \(bytes.count) bytes is shorter than 8 bit bytes + probe count", offset: 0)
        }
        let k = Int(bytes[bytes.count - 1])
        guard (1...30).contains(k) else {
            throw DecodeError(reason: "filter probe count \(k) is outside 1...30", offset: bytes.count - 1)
        }
        layout = .legacy
        probeCount = k
        memory = FilterMemory(copying: UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 1)]))
        span = UInt64(bytes.count - 1) * 8
    }

    /// Bytes of filter bits held in memory.
    var memoryBytes: Int { memory.byteCount }

    package func mayContain(_ userKey: UnsafeRawBufferPointer) -> Bool {
        mayContain(hash: BloomHash.hash64(userKey))
    }

    /// For callers that hash a key once and probe several tables.
    package func mayContain(hash: UInt64) -> Bool {
        let base = memory.base
        switch layout {
        case .blocked:
            let block = base + Int((UInt64(UInt32(truncatingIfNeeded: hash >> 32)) &* span) >> 32) * BloomFilter.blockBytes
            var g = UInt32(truncatingIfNeeded: hash)
            for _ in 0..<probeCount {
                g = g &* 0x9E37_79B9
                let bit = Int(g >> 23)
                if block.load(fromByteOffset: bit >> 3, as: UInt8.self) & (1 << UInt8(bit & 7)) == 0 { return false }
            }
            return true
        case .legacy:
            let h1 = UInt32(truncatingIfNeeded: hash)
            let h2 = UInt32(truncatingIfNeeded: hash >> 32)
            var g = h1
            for _ in 0..<probeCount {
                let bit = Int((UInt64(g) &* span) >> 32)
                if base.load(fromByteOffset: bit >> 3, as: UInt8.self) & (1 << UInt8(bit & 7)) == 0 { return false }
                g = g &+ h2
            }
            return true
        }
    }
}

/// The bits of one filter, copied once at open into 64-byte aligned
/// memory and never written again.
final class FilterMemory: @unchecked Sendable {
    // @unchecked Sendable: the memory is written only in init, then only
    // read, and freed in deinit when no reader can hold the object.
    let base: UnsafeRawPointer
    let byteCount: Int

    init(copying bytes: UnsafeRawBufferPointer) {
        byteCount = bytes.count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: BloomFilter.blockBytes)
        if let source = bytes.baseAddress, bytes.count > 0 { raw.copyMemory(from: source, byteCount: bytes.count) }
        base = UnsafeRawPointer(raw)
    }

    deinit { UnsafeMutableRawPointer(mutating: base).deallocate() }
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

    /// Below this many keys `finish(splitAcrossThreads: true)` stays on
    /// one thread (a thread's start costs more than it would save).
    static let splitFinishMinimumKeys = 1 << 18

    /// The encoded filter in the blocked layout (blocks ++ k ++ 0x80).
    ///
    /// `splitAcrossThreads` (a bulk file's writer, whose caller waits for
    /// it with a core idle): a second thread sets the bits of the first
    /// half of the keys in a bit array of its own while this one sets the
    /// second half's, and the two arrays are OR-ed — one random cache-line
    /// write per key was ~7 % of a 10M-record bulk write's caller thread
    /// (perf). The bits are the same either way.
    package func finish(splitAcrossThreads: Bool = false) -> [UInt8] {
        let k = BloomFilter.blockedProbeCount(bitsPerKey: bitsPerKey)
        let blockBits = BloomFilter.blockBytes * 8
        let blocks = max(1, (hashes.count * bitsPerKey + blockBits - 1) / blockBits)
        let byteCount = blocks * BloomFilter.blockBytes
        var out = [UInt8](repeating: 0, count: byteCount + 2)
        out.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            let half = hashes.count / 2
            var split: (thread: BackgroundThread, helper: FilterBits)?
            if splitAcrossThreads && hashes.count >= BloomFilterBuilder.splitFinishMinimumKeys {
                let helper = FilterBits(byteCount: byteCount)
                let hashes = self.hashes
                // Out of threads: this thread sets every bit (same filter).
                let thread = try? BackgroundThread(name: "ringkv-bloom") {
                    hashes.withUnsafeBufferPointer { h in
                        BloomFilterBuilder.setBits(UnsafeBufferPointer(rebasing: h[0..<half]), into: helper.base,
                                                   blocks: blocks, probes: k)
                    }
                }
                split = thread.map { ($0, helper) }
            }
            if let split {
                hashes.withUnsafeBufferPointer { h in
                    BloomFilterBuilder.setBits(UnsafeBufferPointer(rebasing: h[half...]), into: base, blocks: blocks, probes: k)
                }
                split.thread.join()
                split.helper.or(into: base)
            } else {
                hashes.withUnsafeBufferPointer { h in BloomFilterBuilder.setBits(h, into: base, blocks: blocks, probes: k) }
            }
            raw[byteCount] = UInt8(k)
            raw[byteCount + 1] = BloomFilter.blockedLayoutMarker
        }
        return out
    }

    /// How many keys ahead `setBits` prefetches a key's block.
    static let prefetchDistance = 16

    /// Sets the `probes` bits of each hash in the blocked layout's `blocks`
    /// 64-byte blocks at `bits`. The block of the key `prefetchDistance`
    /// ahead is prefetched: a filter larger than the caches (a bulk file's:
    /// 12.5 MB for 10M keys) costs a cache miss per key, and with the
    /// fetches overlapped the loop runs at memory bandwidth instead of
    /// latency.
    private static func setBits(_ hashes: UnsafeBufferPointer<UInt64>, into bits: UnsafeMutableRawPointer,
                                blocks: Int, probes: Int) {
        @inline(__always) func blockOf(_ hash: UInt64) -> UnsafeMutableRawPointer {
            bits + Int((UInt64(UInt32(truncatingIfNeeded: hash >> 32)) &* UInt64(blocks)) >> 32) * BloomFilter.blockBytes
        }
        for (i, hash) in hashes.enumerated() {
            if i + prefetchDistance < hashes.count { rk_prefetch_for_write(blockOf(hashes[i + prefetchDistance])) }
            let block = blockOf(hash)
            var g = UInt32(truncatingIfNeeded: hash)
            for _ in 0..<probes {
                g = g &* 0x9E37_79B9
                let bit = Int(g >> 23)
                let byte = block + (bit >> 3)
                byte.storeBytes(of: byte.load(as: UInt8.self) | 1 << UInt8(bit & 7), as: UInt8.self)
            }
        }
    }

    /// The encoded filter in the legacy layout (bits ++ k), as databases
    /// before format 4 wrote it: for tests that a build still reads them.
    func finishLegacy() -> [UInt8] {
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

/// The helper thread's bit array of a split `BloomFilterBuilder.finish`:
/// zeroed, written by that thread alone until it is joined, then read by
/// the finishing thread (`or(into:)`) and freed with the object.
private final class FilterBits: @unchecked Sendable {
    // @unchecked Sendable: one writer (the helper thread) until
    // `BackgroundThread.join`, which orders its writes before the
    // finishing thread's reads; never touched by two threads at once.
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 8), alignment: BloomFilter.blockBytes)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    deinit { base.deallocate() }

    /// ORs these bits into `target` (`byteCount` bytes, a multiple of 64).
    func or(into target: UnsafeMutableRawPointer) {
        var at = 0
        while at + 8 <= byteCount {
            let word = target.loadUnaligned(fromByteOffset: at, as: UInt64.self)
                | base.loadUnaligned(fromByteOffset: at, as: UInt64.self)
            target.storeBytes(of: word, toByteOffset: at, as: UInt64.self)
            at += 8
        }
    }
}
