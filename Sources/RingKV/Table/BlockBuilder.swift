/// Builds the uncompressed contents of one block (docs/FORMAT.md §SSTable,
/// "Block contents"):
///
///     entry*      shared: varint, nonShared: varint, valueLength: varint,
///                 key[shared...]: nonShared bytes, value: valueLength bytes
///     restart*    fixed32 offset of an entry whose shared == 0
///     count       fixed32 number of restarts (>= 1)
///
/// Every `restartInterval`-th entry stores its whole key (a restart point);
/// the entries between store only the suffix that differs from the key
/// before them. Keys must arrive in increasing order; the builder does not
/// compare them (the table builder does).
package struct BlockBuilder {
    let restartInterval: Int
    private var buffer: [UInt8] = []
    private var restarts: [UInt32] = [0]
    /// Entries since the last restart point.
    private var entriesSinceRestart = 0
    private var lastKey: [UInt8] = []
    private(set) var entryCount = 0
    private var finished = false

    package init(restartInterval: Int) {
        precondition(restartInterval >= 1, "block restart interval must be at least 1")
        self.restartInterval = restartInterval
    }

    var isEmpty: Bool { entryCount == 0 }

    /// Size of the block if it were finished now.
    var estimatedSizeBytes: Int { buffer.count + restarts.count * 4 + 4 }

    /// The key added last (empty before the first add).
    var lastAddedKey: [UInt8] { lastKey }

    package mutating func add(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        precondition(!finished, "BlockBuilder.add after finish() without reset()")
        var shared = 0
        if entriesSinceRestart < restartInterval {
            shared = lastKey.withUnsafeBytes { last in Self.commonPrefixLength(last, key) }
        } else {
            restarts.append(UInt32(buffer.count))
            entriesSinceRestart = 0
        }
        // The three varints go in with one append (at most 3 × 10 bytes).
        var header: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &header) { out in
            var at = Self.putVarint(UInt64(shared), into: out, at: 0)
            at = Self.putVarint(UInt64(key.count - shared), into: out, at: at)
            at = Self.putVarint(UInt64(value.count), into: out, at: at)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: out[0..<at]))
        }
        let suffix = UnsafeRawBufferPointer(rebasing: key[shared...])
        buffer.append(contentsOf: suffix)
        buffer.append(contentsOf: value)

        // Keep only the differing suffix of lastKey; the common prefix is already there.
        if lastKey.count > shared { lastKey.removeLast(lastKey.count - shared) }
        lastKey.append(contentsOf: suffix)
        entriesSinceRestart += 1
        entryCount += 1
    }

    /// Appends the restart array and returns the finished contents. The
    /// builder must be `reset()` before it takes entries again.
    package mutating func finish() -> [UInt8] {
        precondition(!finished, "BlockBuilder.finish called twice")
        for r in restarts { appendFixed32(r) }
        appendFixed32(UInt32(restarts.count))
        finished = true
        return buffer
    }

    mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        restarts.removeAll(keepingCapacity: true)
        restarts.append(0)
        lastKey.removeAll(keepingCapacity: true)
        entriesSinceRestart = 0
        entryCount = 0
        finished = false
    }

    // MARK: - Encoding helpers

    /// Writes `value` as a varint at `at` of `out` (room for it assumed:
    /// at most 10 bytes); returns the offset after it.
    @inline(__always)
    private static func putVarint(_ value: UInt64, into out: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        var v = value
        var i = at
        while v >= 0x80 {
            out[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        out[i] = UInt8(v)
        return i + 1
    }

    @inline(__always)
    private mutating func appendFixed32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }
    }

    @inline(__always)
    static func commonPrefixLength(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        var i = 0
        while i < n && a[i] == b[i] { i += 1 }
        return i
    }
}
