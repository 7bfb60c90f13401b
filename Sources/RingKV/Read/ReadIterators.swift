/// Iterators and scans of one keyspace (`DB` and `Keyspace` share them).
extension DBImpl {
    /// An iterator over `keyspace` (nil: the default one) as of `options`.
    func makeIterator(options: ReadOptions, keyspace: KeyspaceData?) throws(DBError) -> DBIterator {
        let view = try readView(options, keyspace: keyspace)
        stats.iteratorsMade.add(1)
        return DBIterator(children: try iterators(for: view), sequence: view.sequence, bounds: view.bounds,
                          keepAlive: view, rangeTombstones: try rangeTombstoneIndex(for: view),
                          seekCharge: iteratorSeekCharge(for: view), mergeOperator: self.options.mergeOperator,
                          ttl: view.ttl)
    }

    /// `DB.scan`'s rows of `keyspace`: the range becomes the iterator's
    /// bounds, so neither direction reads a block outside it.
    func scanRows(from: [UInt8], to: [UInt8]?, limit: Int, reverse: Bool, options: ReadOptions,
                  keyspace: KeyspaceData?) throws(DBError) -> [(key: [UInt8], value: [UInt8])] {
        var rows: [(key: [UInt8], value: [UInt8])] = []
        guard limit > 0 else { return rows }
        let it = try makeIterator(options: ReadOptions.bounded(options, from: from, to: to), keyspace: keyspace)
        if reverse { try it.seekToLast() } else { try it.seekToFirst() }
        while it.isValid && rows.count < limit {
            rows.append((it.key, it.value))
            if reverse { try it.prev() } else { try it.next() }
        }
        return rows
    }
}

extension ReadOptions {
    /// `options` with its bounds narrowed to `from..<to` (`to` nil: no end).
    static func bounded(_ options: ReadOptions, from: [UInt8], to: [UInt8]?) -> ReadOptions {
        var bounded = options
        if options.lowerBound.map({ compareBytes(from, $0) > 0 }) ?? true { bounded.lowerBound = from }
        if let to, options.upperBound.map({ compareBytes(to, $0) < 0 }) ?? true { bounded.upperBound = to }
        return bounded
    }
}
