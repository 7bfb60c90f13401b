/// Folds merge operands in flush and compaction (docs/MERGE_TTL.md
/// §Flush and compaction), one user key at a time.
///
/// Data flow: the writer (flush: `TableFiles.build`; compaction:
/// `CompactionJob`) meets a user key whose newest entry is an operand,
/// `collect`s every entry of that key from its merged input (newest
/// first), `fold`s them, and writes what comes back in place of what it
/// read.
///
/// Two entries may be folded together only when no reader can tell them
/// apart: no live snapshot lies between their sequences (they are in the
/// same "stripe": the same smallest snapshot >= their sequence, or none),
/// and no range tombstone of the inputs has a sequence between them. In a
/// stripe, a run of operands is
/// - fully merged into a value (the newest operand's sequence) when the
///   run ends on a value or a deletion of the same stripe (the base; the
///   entries it hides in that stripe are dropped), or when it is the
///   key's oldest entry and no deeper level may hold the key (`bottom`);
/// - otherwise combined by `partialMerge` into one operand, when the
///   operator can, else kept as it is.
/// A failing `fullMerge` (a user operator that throws, a base it cannot
/// read) leaves the run as it is: the read that needs it reports the
/// error, and nothing is lost.
struct MergeFolder {
    /// One entry of the key being folded (its bytes copied out of the input).
    struct Entry {
        var sequence: SequenceNumber
        var type: UInt8
        var value: [UInt8]
    }

    let mergeOperator: any MergeOperator
    /// Live snapshot sequences, ascending.
    let snapshots: [SequenceNumber]
    /// Every range tombstone of the inputs, whatever its sequence.
    let tombstones: RangeTombstoneIndex

    init(mergeOperator: any MergeOperator, snapshots: [SequenceNumber], tombstones: [RangeTombstone]) {
        self.mergeOperator = mergeOperator
        self.snapshots = snapshots.sorted()
        self.tombstones = tombstones.isEmpty ? .empty : RangeTombstoneIndex(tombstones)
    }

    /// Every entry of the user key `iterator` stands on, newest first; the
    /// iterator is left on the next user key (or invalid).
    static func collect(_ iterator: any InternalIterator) throws(DBError) -> (userKey: [UInt8], entries: [Entry]) {
        let userKey = Array(InternalKey.userKey(iterator.key))
        var entries: [Entry] = []
        while iterator.isValid {
            let ikey = iterator.key
            guard ikey.count >= InternalKey.trailerSize else {
                throw DBError.corruption(path: "merge fold", offset: 0, reason: "internal key shorter than its trailer")
            }
            guard userKey.withUnsafeBytes({ compareBytes(InternalKey.userKey(ikey), $0) }) == 0 else { break }
            let (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(ikey))
            entries.append(Entry(sequence: sequence, type: type, value: Array(iterator.value)))
            try iterator.next()
        }
        return (userKey, entries)
    }

    /// The stripe of `sequence`: how many live snapshots lie below it.
    private func stripe(_ sequence: SequenceNumber) -> Int {
        var low = 0, high = snapshots.count
        while low < high {
            let mid = (low + high) / 2
            if snapshots[mid] < sequence { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Whether a reader could tell `newer` and `older` (adjacent entries of
    /// `userKey`) apart: a snapshot or a range tombstone between them.
    private func separated(_ userKey: [UInt8], newer: SequenceNumber, older: SequenceNumber) -> Bool {
        stripe(newer) != stripe(older) || tombstones.coveringSequence(userKey, atOrBelow: newer) > older
    }

    /// `entries` (one user key, newest first) with operands folded.
    /// `bottom`: no version of the key exists outside `entries`.
    func fold(_ userKey: [UInt8], _ entries: [Entry], bottom: Bool) -> [Entry] {
        var out: [Entry] = []
        var i = 0
        while i < entries.count {
            let newest = entries[i]
            guard newest.type == ValueType.merge.rawValue else {
                out.append(newest)
                i += 1
                continue
            }
            var end = i + 1  // the run of operands is i..<end
            while end < entries.count, entries[end].type == ValueType.merge.rawValue,
                  !separated(userKey, newer: entries[end - 1].sequence, older: entries[end].sequence) {
                end += 1
            }
            let operands = entries[i..<end].reversed().map(\.value)
            let baseInStripe = end < entries.count
                && !separated(userKey, newer: entries[end - 1].sequence, older: entries[end].sequence)
            if baseInStripe || (end == entries.count && bottom) {
                let base = baseInStripe && entries[end].type == ValueType.value.rawValue ? entries[end].value : nil
                if let value = try? mergeOperator.fullMerge(key: userKey, existing: base, operands: operands) {
                    out.append(Entry(sequence: newest.sequence, type: ValueType.value.rawValue, value: value))
                    // What the new value hides: the rest of its stripe.
                    i = end
                    let top = stripe(newest.sequence)
                    while i < entries.count && stripe(entries[i].sequence) == top { i += 1 }
                    continue
                }
            }
            if end - i >= 2, let combined = mergeOperator.partialMerge(key: userKey, operands: operands) {
                out.append(Entry(sequence: newest.sequence, type: ValueType.merge.rawValue, value: combined))
            } else {
                out.append(contentsOf: entries[i..<end])
            }
            i = end
        }
        return out
    }
}
