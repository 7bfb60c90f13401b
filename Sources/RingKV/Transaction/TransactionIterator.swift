/// An iterator inside a transaction (`Transaction.makeIterator(in:)`):
/// the transaction's own writes merged over its snapshot, ascending.
///
/// How data flows: at creation it copies the transaction's own writes of
/// the keyspace within the bounds (sorted) and its own range deletions,
/// and opens a `DBIterator` at the transaction's snapshot. Each step
/// takes the smaller key of the two sources; on equal keys the own write
/// wins (own merge operands are folded onto the own put or delete, or onto
/// the snapshot's entry of that key); own deletions and snapshot keys under
/// an own range deletion are skipped. Every key it stands on is tracked as read by the transaction
/// (so a later commit of that key by another writer makes the commit
/// conflict). Keys another writer inserts into the scanned range after the
/// snapshot (phantoms) are NOT detected: docs/TRANSACTIONS.md.
///
/// Writes the transaction makes after the iterator was created are not
/// seen by it. Forward only (`seekToFirst`, `seek(to:)`, `next`). Not
/// thread-safe: one thread uses it at a time.
public final class TransactionIterator {
    private let transaction: Transaction
    private let keyspaceId: UInt32
    private let base: DBIterator
    private let own: [(key: [UInt8], own: TransactionState.OwnLookup)]
    private let ownRanges: [(from: [UInt8], to: [UInt8])]
    private let lower: [UInt8]?
    /// Next own entry not yet passed.
    private var ownIndex = 0
    private var currentKey: [UInt8] = []
    private var currentValue: [UInt8] = []
    /// Whether the iterator stands on a key.
    public private(set) var isValid = false

    init(transaction: Transaction, keyspaceId: UInt32, base: DBIterator,
         own: [(key: [UInt8], own: TransactionState.OwnLookup)], ownRanges: [(from: [UInt8], to: [UInt8])], lower: [UInt8]?) {
        self.transaction = transaction
        self.keyspaceId = keyspaceId
        self.base = base
        self.own = own
        self.ownRanges = ownRanges
        self.lower = lower
    }

    /// The current key (empty when not valid).
    public var key: [UInt8] { isValid ? currentKey : [] }
    /// The current value (empty when not valid).
    public var value: [UInt8] { isValid ? currentValue : [] }

    /// Positions at the first key (the lower bound, when set).
    public func seekToFirst() throws(DBError) {
        try seek(to: lower ?? [])
    }

    /// Positions at the first key at or after `target`.
    public func seek(to target: [UInt8]) throws(DBError) {
        try transaction.withState { (s) throws(DBError) in try s.checkOpen() }
        var target = target
        if let lower, compareBytes(target, lower) < 0 { target = lower }
        try base.seek(to: target)
        ownIndex = own.firstIndex { compareBytes($0.key, target) >= 0 } ?? own.count
        try settle()
    }

    /// Moves to the next key. Requires `isValid`.
    public func next() throws(DBError) {
        guard isValid else { throw DBError.misuse("next() on an invalid TransactionIterator") }
        try transaction.withState { (s) throws(DBError) in try s.checkOpen() }
        // Step past the current key in whichever source holds it.
        if base.isValid && base.key == currentKey { try base.next() }
        if ownIndex < own.count && own[ownIndex].key == currentKey { ownIndex += 1 }
        try settle()
    }

    private func coveredByOwnRange(_ key: [UInt8]) -> Bool {
        ownRanges.contains { compareBytes($0.from, key) <= 0 && compareBytes(key, $0.to) < 0 }
    }

    /// Stands on the next visible key at or after the sources' positions.
    private func settle() throws(DBError) {
        while true {
            let baseKey: [UInt8]? = base.isValid ? base.key : nil
            let ownEntry = ownIndex < own.count ? own[ownIndex] : nil
            guard baseKey != nil || ownEntry != nil else {
                isValid = false
                return
            }
            let order: Int
            if let baseKey, let ownEntry { order = compareBytes(ownEntry.key, baseKey) } else { order = ownEntry == nil ? 1 : -1 }
            if order <= 0, let ownEntry {
                // The own write decides this key (own operands may fold
                // onto the snapshot's entry of it).
                var snapshotValue: [UInt8]?
                if order == 0 {
                    snapshotValue = base.value
                    try base.next()
                }
                ownIndex += 1
                switch ownEntry.own {
                case .value(let value):
                    stand(on: ownEntry.key, value)
                    return
                case .deleted, .notWritten:
                    continue
                case .merged(let ownBase, let operands, let onSnapshot):
                    if onSnapshot { transaction.trackRead(keyspace: keyspaceId, key: ownEntry.key) }
                    let value = try transaction.foldOwnOperands(key: ownEntry.key,
                                                                existing: onSnapshot ? snapshotValue : ownBase,
                                                                operands: operands)
                    stand(on: ownEntry.key, value)
                    return
                }
            }
            // A snapshot key no own write touches.
            if let baseKey {
                if !ownRanges.isEmpty && coveredByOwnRange(baseKey) {
                    try base.next()
                    continue
                }
                transaction.trackRead(keyspace: keyspaceId, key: baseKey)
                currentKey = baseKey
                currentValue = base.value
                isValid = true
                // Leave `base` on the key: `next` steps it.
                return
            }
        }
    }

    private func stand(on key: [UInt8], _ value: [UInt8]) {
        currentKey = key
        currentValue = value
        // Both sources are already past it (`settle` stepped them).
        isValid = true
    }
}

extension Transaction {
    /// An iterator over `keyspace` (nil: default) as this transaction sees
    /// it: its own writes over its snapshot, keys in `[lowerBound,
    /// upperBound)` (nil: open). Every key it returns is tracked as read.
    public func makeIterator(in keyspace: Keyspace? = nil, lowerBound: [UInt8]? = nil,
                             upperBound: [UInt8]? = nil) throws(DBError) -> TransactionIterator {
        let id = try keyspaceId(keyspace)
        let (snapshot, own) = try withState { (s) throws(DBError) in
            try s.checkOpen()
            return (snapshotObject(&s), s.ownEntries(keyspace: id, lower: lowerBound, upper: upperBound))
        }
        let options = ReadOptions(snapshot: snapshot, lowerBound: lowerBound, upperBound: upperBound)
        let iterator: DBIterator
        if let keyspace { iterator = try keyspace.makeIterator(options: options) } else {
            iterator = try db.makeIterator(options: options)
        }
        return TransactionIterator(transaction: self, keyspaceId: id, base: iterator, own: own.entries,
                                   ownRanges: own.ranges, lower: lowerBound)
    }

    /// Up to `limit` pairs of `keyspace` with `from <= key < to` (`to`
    /// nil: to the end) as this transaction sees them, ascending; each
    /// returned key is tracked as read (phantoms are not:
    /// docs/TRANSACTIONS.md).
    public func scan(from: [UInt8] = [], to: [UInt8]? = nil, limit: Int = Int.max,
                     in keyspace: Keyspace? = nil) throws(DBError) -> [(key: [UInt8], value: [UInt8])] {
        let iterator = try makeIterator(in: keyspace, lowerBound: from, upperBound: to)
        var rows: [(key: [UInt8], value: [UInt8])] = []
        try iterator.seekToFirst()
        while iterator.isValid && rows.count < limit {
            rows.append((iterator.key, iterator.value))
            try iterator.next()
        }
        return rows
    }
}
