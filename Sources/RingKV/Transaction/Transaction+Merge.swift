/// `Transaction.merge`: a merge operand buffered in the transaction's
/// batch (a `WriteBatch.merge`, committed with the rest through the group
/// commit). How data flows: the operand is checked against
/// `Options.mergeOperator` when `merge` is called; it is appended to the
/// batch and to the own write of its key (TransactionState.recordMerge),
/// so the transaction's reads (`get`, sync and async, and its iterator)
/// fold its own operands, oldest first, onto its own put or delete of the
/// key, or onto the key's value at the snapshot when it has none. A merge
/// is not tracked for conflicts by itself (docs/TRANSACTIONS.md §Merge).
extension Transaction {
    /// Buffers "merge `operand` into `key`" (in `keyspace`, nil: default).
    /// - Throws: `DBError.invalidArgument` when the database has no
    ///   `Options.mergeOperator` or it refuses the operand (CounterMerge:
    ///   not 8 bytes), or when `keyspace` has a ttl (TTL keyspaces take no
    ///   merges: docs/MERGE_TTL.md) — at this call, nothing is buffered;
    ///   `DBError.tooLarge` for a key or operand over the limits;
    ///   `DBError.transactionClosed` after commit or rollback.
    public func merge(_ key: [UInt8], _ operand: [UInt8], in keyspace: Keyspace? = nil) throws(DBError) {
        let id = try keyspaceId(keyspace)
        if let keyspace, keyspace.data.stampsWriteTime { throw TTLPolicy.mergeRefusal(keyspace: keyspace.name) }
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: operand.count)
        try db.impl.checkMergeOperand(key: key, operand)
        try withState { (s) throws(DBError) in
            try s.checkOpen()
            if let keyspace { s.batch.merge(key, operand, in: keyspace) } else { s.batch.merge(key, operand) }
            s.recordMerge(keyspace: id, key: key, operand: operand)
        }
    }

    /// `merge` with a key and an operand of any `KeyValueBytes` types.
    public func merge<Key: KeyValueBytes, Operand: KeyValueBytes>(_ key: Key, _ operand: Operand,
                                                                 in keyspace: Keyspace? = nil) throws(DBError) {
        try merge(key.withKeyValueBytes { Array($0) }, operand.withKeyValueBytes { Array($0) }, in: keyspace)
    }

    /// `existing` with the transaction's own operands of `key` applied
    /// (oldest first) by the database's merge operator.
    func foldOwnOperands(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws(DBError) -> [UInt8] {
        try MergeResolution.fullMerge(db.impl.options.mergeOperator, key: key, existing: existing,
                                      operandsOldestFirst: operands)
    }
}

extension DBImpl {
    /// Refuses one merge operand as `checkMerges` refuses a batch's: no
    /// merge operator, or one whose `validate(operand:)` throws.
    func checkMergeOperand(key: [UInt8], _ operand: [UInt8]) throws(DBError) {
        guard let mergeOperator = options.mergeOperator else {
            throw DBError.invalidArgument("merge needs Options.mergeOperator (none is set)")
        }
        do {
            try mergeOperator.validate(operand: operand)
        } catch {
            throw DBError.invalidArgument("merge operand for key \(FileMetaData.render(key)) "
                                          + "refused by \(mergeOperator.name): \(error)")
        }
    }
}
