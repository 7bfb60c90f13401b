/// One range deletion: every entry with `start <= userKey < end` and a
/// sequence below `sequence` is deleted (docs/FORMAT.md §Range deletion
/// block). Entries written at or after `sequence`, and readers whose
/// snapshot is below `sequence`, are not affected.
package struct RangeTombstone: Equatable, Sendable {
    package var start: [UInt8]
    /// Exclusive.
    package var end: [UInt8]
    package var sequence: SequenceNumber

    package init(start: [UInt8], end: [UInt8], sequence: SequenceNumber) {
        self.start = start
        self.end = end
        self.sequence = sequence
    }

    /// True when `start <= userKey < end`.
    func covers(_ userKey: UnsafeRawBufferPointer) -> Bool {
        start.withUnsafeBytes { compareBytes($0, userKey) <= 0 } && end.withUnsafeBytes { compareBytes(userKey, $0) < 0 }
    }

    /// The order tombstones are stored in: start ascending, then newest first.
    static func storageOrder(_ a: RangeTombstone, _ b: RangeTombstone) -> Bool {
        let c = compareBytes(a.start, b.start)
        if c != 0 { return c < 0 }
        if a.sequence != b.sequence { return a.sequence > b.sequence }
        return compareBytes(a.end, b.end) < 0
    }

    // MARK: - Range deletion block contents (docs/FORMAT.md §Range deletion block)

    /// Format version of the block's contents.
    static let blockVersion: UInt8 = 1

    ///     version u8 (1) | count varint
    ///     then per tombstone, in `storageOrder`:
    ///       start varint length ++ bytes | end varint length ++ bytes | sequence varint
    package static func encodeBlock(_ tombstones: [RangeTombstone]) -> [UInt8] {
        var out = ByteWriter(capacity: 16 + tombstones.reduce(0) { $0 + $1.start.count + $1.end.count + 12 })
        out.append(blockVersion)
        out.appendVarint(tombstones.count)
        for t in tombstones.sorted(by: storageOrder) {
            out.appendLengthPrefixed(t.start)
            out.appendLengthPrefixed(t.end)
            out.appendVarint(t.sequence)
        }
        return out.bytes
    }

    /// Decodes and checks a block from disk: version, every length, each
    /// tombstone non-empty (`start < end`), a 56-bit sequence, the stored
    /// order, and nothing after the last tombstone.
    package static func decodeBlock(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> [RangeTombstone] {
        var r = ByteReader(raw)
        let version = try r.readByte()
        guard version == blockVersion else {
            throw DecodeError(reason: "unknown range deletion block version \(version)", offset: 0)
        }
        let count = try r.readLength()
        var out: [RangeTombstone] = []
        out.reserveCapacity(min(count, raw.count / 3))
        for _ in 0..<count {
            let at = r.position
            let start = Array(try r.readLengthPrefixed())
            let end = Array(try r.readLengthPrefixed())
            let sequence = try r.readVarint64()
            guard compareBytes(start, end) < 0 else {
                throw DecodeError(reason: "range tombstone with start >= end", offset: at)
            }
            guard sequence <= InternalKey.maxSequenceNumber else {
                throw DecodeError(reason: "range tombstone sequence \(sequence) exceeds 56 bits", offset: at)
            }
            let t = RangeTombstone(start: start, end: end, sequence: sequence)
            if let last = out.last, !storageOrder(last, t) {
                throw DecodeError(reason: "range tombstones out of order", offset: at)
            }
            out.append(t)
        }
        guard r.isAtEnd else {
            throw DecodeError(reason: "\(raw.count - r.position) bytes after the last range tombstone", offset: r.position)
        }
        return out
    }
}
