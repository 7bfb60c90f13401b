/// `DB`'s methods for keys and values of any `KeyValueBytes` type —
/// `String`, `Substring`, `Data`, `ArraySlice<UInt8>`, raw buffers — mixed
/// freely: `try db.put("user:1", jsonBytes)`, `try db.get(Data(key))`.
/// The bytes are lent to the engine (KeyValueBytes.swift): a put copies
/// them once, into the WAL buffer and the memtable, as the `[UInt8]`
/// forms in DB.swift do. Results are `[UInt8]`.
extension DB {
    // MARK: - Writes

    /// Sets `key` to `value` (see `put(_:_:options:)` for durability and
    /// errors).
    public func put<Key: KeyValueBytes, Value: KeyValueBytes>(
        _ key: Key, _ value: Value, options: WriteOptions = WriteOptions()
    ) throws(DBError) {
        try impl.checkWritable()
        try key.withKeyValueBytes { (k) throws(DBError) in
            try value.withKeyValueBytes { (v) throws(DBError) in try impl.put(k, v, sync: options.sync) }
        }
    }

    /// Removes `key` (a deletion marker).
    public func delete<Key: KeyValueBytes>(_ key: Key, options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        try key.withKeyValueBytes { (k) throws(DBError) in try impl.delete(k, sync: options.sync) }
    }

    /// Deletes every key in `from..<to` with one range tombstone (see
    /// `deleteRange(from:to:options:)`).
    public func deleteRange<From: KeyValueBytes, To: KeyValueBytes>(
        from: From, to: To, options: WriteOptions = WriteOptions()
    ) throws(DBError) {
        try impl.checkWritable()
        var batch = WriteBatch()
        batch.deleteRange(from: from, to: to)
        try batch.validate()
        let empty = from.withKeyValueBytes { f in to.withKeyValueBytes { t in compareBytes(f, t) == 0 } }
        if empty { return }
        try impl.write(batch, sync: options.sync)
    }

    // MARK: - Reads

    /// The newest visible value of `key`, or nil (see `get(_:options:)`).
    public func get<Key: KeyValueBytes>(_ key: Key, options: ReadOptions = ReadOptions()) throws(DBError) -> [UInt8]? {
        try value(forKeyBytes: key, options: options)
    }

    /// Zero-copy read of `key` (see `withValue(forKey:options:_:)`).
    public func withValue<Key: KeyValueBytes, R>(forKey key: Key, options: ReadOptions = ReadOptions(),
                                                 _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try value(forKeyBytes: key, options: options, body)
    }

    /// `multiGet` of keys of any `KeyValueBytes` type, e.g. `[String]`;
    /// results in the order of `keys`.
    public func multiGet<Key: KeyValueBytes>(_ keys: [Key], options: ReadOptions = ReadOptions()) throws(DBError)
        -> [[UInt8]?] {
        try multiGet(keys.map { $0.withKeyValueBytes { Array($0) } }, options: options)
    }

    /// `scan` with bounds of any `KeyValueBytes` type (`from` inclusive,
    /// `to` exclusive, nil: to the end).
    public func scan<Key: KeyValueBytes>(from: Key, to: Key? = nil, limit: Int = Int.max, reverse: Bool = false,
                                         options: ReadOptions = ReadOptions()) throws(DBError)
        -> [(key: [UInt8], value: [UInt8])] {
        try scan(from: from.withKeyValueBytes { Array($0) }, to: to.map { $0.withKeyValueBytes { Array($0) } },
                 limit: limit, reverse: reverse, options: options)
    }
}

extension DBIterator {
    /// `seek(to:)` with a target of any `KeyValueBytes` type.
    public func seek<Key: KeyValueBytes>(to target: Key) throws(DBError) {
        try seek(to: target.withKeyValueBytes { Array($0) })
    }

    /// `seek(forPrev:)` with a target of any `KeyValueBytes` type.
    public func seek<Key: KeyValueBytes>(forPrev target: Key) throws(DBError) {
        try seek(forPrev: target.withKeyValueBytes { Array($0) })
    }
}
