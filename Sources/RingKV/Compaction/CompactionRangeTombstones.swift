/// What a compaction does with the range tombstones of its inputs
/// (docs/ARCHITECTURE.md §Range deletion):
///
/// 1. An entry is dropped when a tombstone of the inputs with a sequence
///    <= `smallestSnapshot` covers it and is newer: every reader sees that
///    tombstone, so no reader can see the entry.
/// 2. A tombstone with sequence <= `smallestSnapshot` is dropped when no
///    level below the output level overlaps its range: rule 1 removed
///    everything it covered among the inputs, and nothing older is left.
///    Every other tombstone is carried into the outputs.
/// 3. Each kept tombstone goes whole into one output, which claims its
///    range (`TableBuilder` widens the table's bounds to [start, end]).
///    Outputs at L1+ must not overlap, so an output is not cut before a
///    user key at or below the end of a tombstone it holds (`canCut`), and
///    a tombstone starting before the next output's first key goes into
///    the current one. The price: an output can grow past its target size
///    when a snapshot keeps many entries alive under a wide tombstone.
struct CompactionRangeTombstones {
    /// Every input tombstone: decides rule 1.
    private let coverage: RangeTombstoneIndex
    private let smallestSnapshot: SequenceNumber
    /// Tombstones to write, by start ascending; `next` is the first not yet
    /// given to an output.
    private let kept: [RangeTombstone]
    private var next = 0
    /// The largest end among tombstones given to the current output.
    private var currentMaxEnd: [UInt8]?
    private(set) var droppedCount = 0

    init(inputs: [RangeTombstone], smallestSnapshot: SequenceNumber, deeperLevels: [[FileMetaData]]) {
        self.smallestSnapshot = smallestSnapshot
        coverage = RangeTombstoneIndex(inputs)
        var kept: [RangeTombstone] = []
        var dropped = 0
        for t in inputs {
            let mayCoverDeeper = deeperLevels.contains { level in
                level.contains { $0.overlaps(smallestUserKey: t.start, largestUserKey: t.end) }
            }
            if t.sequence <= smallestSnapshot && !mayCoverDeeper {
                dropped += 1
            } else if kept.last != t {
                kept.append(t)
            }
        }
        self.kept = kept.sorted(by: RangeTombstone.storageOrder)
        droppedCount = dropped
    }

    var isEmpty: Bool { kept.isEmpty && coverage.isEmpty }

    /// Rule 1 for one entry.
    @inline(__always)
    func hides(_ userKey: UnsafeRawBufferPointer, sequence: SequenceNumber) -> Bool {
        coverage.hides(userKey, sequence: sequence, snapshot: smallestSnapshot)
    }

    /// Whether an output may end before `userKey` (rule 3).
    func canCut(before userKey: UnsafeRawBufferPointer) -> Bool {
        guard let end = currentMaxEnd else { return true }
        return end.withUnsafeBytes { compareBytes(userKey, $0) > 0 }
    }

    /// Gives `output` every kept tombstone that starts before `userKey`
    /// (or at it, with `inclusive`); nil `userKey`: all that remain.
    mutating func attach(startingBefore userKey: UnsafeRawBufferPointer?, inclusive: Bool, to output: TableOutput) {
        var batch: [RangeTombstone] = []
        while next < kept.count {
            let t = kept[next]
            if let userKey {
                let c = t.start.withUnsafeBytes { compareBytes($0, userKey) }
                if c > 0 || (c == 0 && !inclusive) { break }
            }
            batch.append(t)
            if currentMaxEnd.map({ compareBytes(t.end, $0) > 0 }) ?? true { currentMaxEnd = t.end }
            next += 1
        }
        if !batch.isEmpty { output.addRangeTombstones(batch) }
    }

    /// True while kept tombstones wait for an output.
    var hasPending: Bool { next < kept.count }

    /// Called when a new output starts.
    mutating func startOutput() { currentMaxEnd = nil }
}
