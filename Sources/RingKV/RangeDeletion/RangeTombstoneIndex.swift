/// Answers "which range tombstone covers this user key?" in O(log n)
/// (docs/ARCHITECTURE.md §Range deletion): the tombstones, which may
/// overlap, are cut at every start and end into disjoint fragments, as
/// RocksDB's fragmented range tombstone list and Pebble's keyspan
/// fragmenter do; each fragment keeps the sequences of every tombstone
/// spanning it, newest first, so one index serves every snapshot.
///
/// Invariants: `fragmentStarts` is strictly ascending, fragment i spans
/// `[fragmentStarts[i], fragmentEnds[i])`, fragments do not overlap, and
/// `fragmentSequences[i]` is non-empty and strictly descending.
package struct RangeTombstoneIndex: Sendable {
    private var fragmentStarts: [[UInt8]] = []
    private var fragmentEnds: [[UInt8]] = []
    private var fragmentSequences: [[SequenceNumber]] = []

    package static let empty = RangeTombstoneIndex()

    package var isEmpty: Bool { fragmentStarts.isEmpty }

    private init() {}

    /// Builds the index of `tombstones` (any order; empty ranges ignored).
    package init(_ tombstones: [RangeTombstone]) {
        let live = tombstones.filter { compareBytes($0.start, $0.end) < 0 }
        guard !live.isEmpty else { return }
        var boundaries = live.flatMap { [$0.start, $0.end] }
        boundaries.sort { compareBytes($0, $1) < 0 }
        var unique: [[UInt8]] = []
        for b in boundaries where unique.last != b { unique.append(b) }

        // Sweep the boundaries left to right with the tombstones that span
        // the current fragment (`active`): every start and end is a
        // boundary, so a tombstone either spans a fragment fully or not at all.
        let byStart = live.sorted { compareBytes($0.start, $1.start) < 0 }
        var next = 0
        var active: [RangeTombstone] = []
        for i in 0..<(unique.count - 1) {
            let lower = unique[i]
            active.removeAll { compareBytes($0.end, lower) <= 0 }
            while next < byStart.count && compareBytes(byStart[next].start, lower) <= 0 {
                active.append(byStart[next])
                next += 1
            }
            guard !active.isEmpty else { continue }
            var sequences = active.map(\.sequence)
            sequences.sort(by: >)
            var distinct: [SequenceNumber] = []
            for s in sequences where distinct.last != s { distinct.append(s) }
            fragmentStarts.append(lower)
            fragmentEnds.append(unique[i + 1])
            fragmentSequences.append(distinct)
        }
    }

    /// The largest sequence <= `snapshot` of a tombstone covering
    /// `userKey`, or 0 when none does (sequence 0 is never written, so 0
    /// hides nothing: an entry is deleted when its sequence is below this).
    package func coveringSequence(_ userKey: UnsafeRawBufferPointer, atOrBelow snapshot: SequenceNumber) -> SequenceNumber {
        if fragmentStarts.isEmpty { return 0 }
        // The last fragment with start <= userKey.
        var low = 0, high = fragmentStarts.count
        while low < high {
            let mid = (low + high) / 2
            if fragmentStarts[mid].withUnsafeBytes({ compareBytes($0, userKey) }) <= 0 {
                low = mid + 1
            } else {
                high = mid
            }
        }
        guard low > 0 else { return 0 }
        let i = low - 1
        guard fragmentEnds[i].withUnsafeBytes({ compareBytes(userKey, $0) }) < 0 else { return 0 }
        for s in fragmentSequences[i] where s <= snapshot { return s }
        return 0
    }

    package func coveringSequence(_ userKey: [UInt8], atOrBelow snapshot: SequenceNumber) -> SequenceNumber {
        userKey.withUnsafeBytes { coveringSequence($0, atOrBelow: snapshot) }
    }

    /// True when an entry of `userKey` written at `sequence` is deleted by
    /// a tombstone visible at `snapshot`.
    @inline(__always)
    package func hides(_ userKey: UnsafeRawBufferPointer, sequence: SequenceNumber, snapshot: SequenceNumber) -> Bool {
        !fragmentStarts.isEmpty && coveringSequence(userKey, atOrBelow: snapshot) > sequence
    }
}
