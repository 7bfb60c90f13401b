/// How point lookups (`get`, `withValue`, `multiGet`) apply range
/// tombstones (docs/ARCHITECTURE.md §Range deletion): while walking the
/// sources newest first, a lookup keeps the largest sequence of a visible
/// tombstone covering its key seen so far — from every source it visits,
/// before that source's bloom filter, since a table's range deletions are
/// not in its filter — and an entry found with a smaller sequence is
/// deleted. Comparing sequences (not source order) keeps this right
/// whatever source the tombstone and the entry came from.
extension BlockSearchResult {
    /// This answer with a covering tombstone at `coveringSequence` (0: none) applied.
    @inline(__always)
    func applying(coveringSequence: SequenceNumber) -> BlockSearchResult {
        if case .found(_, let sequence) = self, sequence < coveringSequence {
            return .deleted(sequence: coveringSequence)
        }
        if case .mergeOperand(let sequence) = self, sequence < coveringSequence {
            return .deleted(sequence: coveringSequence)
        }
        return self
    }
}
