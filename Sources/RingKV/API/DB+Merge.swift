/// `DB.merge` and `Keyspace.merge`, sync and async: a merge operand
/// written as a one-operation batch (type 3 or 7, docs/FORMAT.md §WAL
/// payload). Reads fold operands with `Options.mergeOperator`
/// (Merge/MergeResolution.swift); flush and compaction fold them ahead
/// of reads (Merge/MergeFolder.swift). See docs/MERGE_TTL.md.
extension DB {
    /// Merges `operand` into `key` with `Options.mergeOperator` (for
    /// `CounterMerge`: adds `CounterMerge.operand(n)`), without reading the
    /// key. Durability as for `put(_:_:options:)`.
    /// - Throws: `DBError.invalidArgument` when no merge operator is set or
    ///   it refuses the operand (nothing is written), else as `put`.
    public func merge(_ key: [UInt8], _ operand: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        var batch = WriteBatch()
        batch.merge(key, operand)
        try write(batch, options: options)
    }

    /// `merge` with a key and an operand of any `KeyValueBytes` type.
    public func merge<Key: KeyValueBytes, Operand: KeyValueBytes>(
        _ key: Key, _ operand: Operand, options: WriteOptions = WriteOptions()
    ) throws(DBError) {
        var batch = WriteBatch()
        batch.merge(key, operand)
        try write(batch, options: options)
    }

    /// `merge` that returns once its group committed, never blocking a
    /// cooperative thread.
    public func merge<Key: KeyValueBytes, Operand: KeyValueBytes>(
        _ key: Key, _ operand: Operand, options: WriteOptions = WriteOptions()
    ) async throws {
        var batch = WriteBatch()
        batch.merge(key, operand)
        try await write(batch, options: options)
    }
}

extension Keyspace {
    /// Merges `operand` into `key` in this keyspace (see `DB.merge`).
    public func merge(_ key: [UInt8], _ operand: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        var batch = WriteBatch()
        batch.merge(key, operand, in: self)
        try db.write(batch, options: options)
    }

    /// `merge` with a key and an operand of any `KeyValueBytes` type.
    public func merge<Key: KeyValueBytes, Operand: KeyValueBytes>(
        _ key: Key, _ operand: Operand, options: WriteOptions = WriteOptions()
    ) throws(DBError) {
        var batch = WriteBatch()
        batch.merge(key, operand, in: self)
        try db.write(batch, options: options)
    }

    /// `merge` that returns once its group committed.
    public func merge<Key: KeyValueBytes, Operand: KeyValueBytes>(
        _ key: Key, _ operand: Operand, options: WriteOptions = WriteOptions()
    ) async throws {
        var batch = WriteBatch()
        batch.merge(key, operand, in: self)
        try await db.write(batch, options: options)
    }
}
