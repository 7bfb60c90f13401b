/// How reads fold merge operands (docs/MERGE_TTL.md §Reads).
///
/// The point lookups (`get`, `withValue`, `multiGet`, their async forms)
/// walk the sources newest first as always; when the newest visible entry
/// of a key is a merge operand they stop and hand the key to
/// `resolveMerged`, which walks every version of that one key through a
/// merging iterator over the same read view (bounded to the key, so no
/// other block is read), collects the operands newest first until a value
/// (the base), a deletion or covering range tombstone (no base) or the
/// oldest entry, and calls `MergeOperator.fullMerge` once. A key without
/// operands never takes this path. Iterators fold in `DBIterator`.
enum MergeResolution {
    /// `mergeOperator.fullMerge` over `operands` given oldest first, with
    /// its failures as `DBError`s naming the key.
    static func fullMerge(_ mergeOperator: (any MergeOperator)?, key: [UInt8], existing: [UInt8]?,
                          operandsOldestFirst operands: [[UInt8]]) throws(DBError) -> [UInt8] {
        guard let mergeOperator else { throw DBError.mergeOperatorMissing(key: key) }
        do {
            return try mergeOperator.fullMerge(key: key, existing: existing, operands: operands)
        } catch {
            throw DBError.mergeFailed(key: key, reason: "\(mergeOperator.name): \(error)")
        }
    }
}

extension DBImpl {
    /// The value of `key` as `view` sees it, when its newest visible entry
    /// is a merge operand: every operand down to the base, fully merged.
    func resolveMerged(_ key: UnsafeRawBufferPointer, view: ReadView) throws(DBError) -> [UInt8] {
        let userKey = Array(key)
        var narrowed = view
        narrowed.asyncPrefetch = false
        narrowed.bounds = IterationBounds(lower: userKey, upper: userKey + [0])
            .withFilterPrefix(length: mu.withLock { view.keyspace.options.prefixFilterLength })
        let merged = MergingIterator(try iterators(for: narrowed))
        let tombstones = try rangeTombstoneIndex(for: view)
        let trailer = InternalKey.packTrailer(min(view.sequence, InternalKey.maxSequenceNumber),
                                              InternalKey.typeForSeek)
        try InternalKey.withEncoded(key, trailer: trailer) { (target) throws(DBError) in try merged.seek(target) }
        var operands: [[UInt8]] = []  // newest first
        var base: [UInt8]?
        while merged.isValid {
            let ikey = merged.key
            guard ikey.count >= InternalKey.trailerSize else {
                throw DBError.corruption(path: "merge read", offset: 0, reason: "internal key shorter than its trailer")
            }
            guard compareBytes(InternalKey.userKey(ikey), key) == 0 else { break }
            let (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(ikey))
            if sequence > view.sequence {
                try merged.next()
                continue
            }
            if tombstones.hides(key, sequence: sequence, snapshot: view.sequence) { break }
            if type == ValueType.deletion.rawValue { break }
            if type == ValueType.value.rawValue {
                base = Array(merged.value)
                break
            }
            guard type == ValueType.merge.rawValue else {
                throw DBError.corruption(path: "merge read", offset: 0, reason: "unknown value type \(type)")
            }
            operands.append(Array(merged.value))
            try merged.next()
        }
        return try MergeResolution.fullMerge(options.mergeOperator, key: userKey, existing: base,
                                             operandsOldestFirst: operands.reversed())
    }
}
