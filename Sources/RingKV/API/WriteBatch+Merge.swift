/// `WriteBatch.merge`: a merge operand as one operation of a batch
/// (type 3, or 7 in a keyspace: docs/FORMAT.md §WAL payload). The operand
/// is checked against `Options.mergeOperator` when the batch is written
/// (`DBImpl.checkMerges`), not here: a batch does not know its database.
extension WriteBatch {
    /// Adds "merge `operand` into `key`" (`Options.mergeOperator` combines
    /// it with the key's value on read). `DB.write` refuses the batch with
    /// `DBError.invalidArgument` when the database has no merge operator or
    /// the operator refuses the operand.
    public mutating func merge(_ key: [UInt8], _ operand: [UInt8]) {
        key.withUnsafeBytes { k in operand.withUnsafeBytes { o in appendMerge(k, o, keyspace: 0) } }
    }

    /// `merge` with a key and an operand of any `KeyValueBytes` type.
    public mutating func merge<Key: KeyValueBytes, Operand: KeyValueBytes>(_ key: Key, _ operand: Operand) {
        key.withKeyValueBytes { k in operand.withKeyValueBytes { o in appendMerge(k, o, keyspace: 0) } }
    }

    /// `merge(_:_:)` in `keyspace`.
    public mutating func merge(_ key: [UInt8], _ operand: [UInt8], in keyspace: Keyspace) {
        let id = noteForMerge(keyspace)
        key.withUnsafeBytes { k in operand.withUnsafeBytes { o in appendMerge(k, o, keyspace: id) } }
    }

    /// `merge(_:_:in:)` with a key and an operand of any `KeyValueBytes` type.
    public mutating func merge<Key: KeyValueBytes, Operand: KeyValueBytes>(_ key: Key, _ operand: Operand,
                                                                          in keyspace: Keyspace) {
        let id = noteForMerge(keyspace)
        key.withKeyValueBytes { k in operand.withKeyValueBytes { o in appendMerge(k, o, keyspace: id) } }
    }
}

extension DBImpl {
    /// Refuses a batch with merges when the database has no merge operator,
    /// or an operand the operator's `validate(operand:)` refuses: a bad
    /// operand is an error at write time, never a wrong value later.
    func checkMerges(in batch: WriteBatch) throws(DBError) {
        guard batch.hasMerge else { return }
        try refuseMergesIntoTTLKeyspaces(batch)
        guard let mergeOperator = options.mergeOperator else {
            throw DBError.invalidArgument("merge needs Options.mergeOperator (none is set)")
        }
        var refusal: DBError?
        try batch.rep.withBytes { (raw) throws(DBError) in
            do throws(DecodeError) {
                try WriteBatch.forEach(raw) { _, type, key, operand in
                    guard type == .merge, refusal == nil else { return }
                    do {
                        try mergeOperator.validate(operand: Array(operand))
                    } catch {
                        refusal = DBError.invalidArgument("merge operand for key \(FileMetaData.render(Array(key))) "
                                                          + "refused by \(mergeOperator.name): \(error)")
                    }
                }
            } catch {
                throw DBError.internalError("a write batch built in memory does not decode: \(error.reason)")
            }
        }
        if let refusal { throw refusal }
    }
}
