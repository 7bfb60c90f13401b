/// `Keyspace`'s async overloads: the same names as its synchronous
/// methods, chosen in an async context, and the same behaviour as `DB`'s
/// (DB+Async.swift): reads suspend on io_uring completions, writes on
/// their group's commit (the database's commit driver runs it), flush and
/// compactRange run on a thread of their own.
extension Keyspace {
    // MARK: - Reads

    /// The newest value of `key` in this keyspace, or nil.
    /// - Throws: `CancellationError`, `DBError`.
    public func get(_ key: [UInt8], options: ReadOptions = ReadOptions()) async throws -> [UInt8]? {
        let impl = self.impl, data = self.data
        return try await impl.readingAsync { try await impl.getAsync(key, options: options, keyspace: data) }
    }

    /// The value of `key` as UTF-8 text, or nil.
    public func get(_ key: String, options: ReadOptions = ReadOptions()) async throws -> String? {
        try await get(Array(key.utf8), options: options).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `get` of a key of any `KeyValueBytes` type (copied once).
    public func get<Key: KeyValueBytes>(_ key: Key, options: ReadOptions = ReadOptions()) async throws -> [UInt8]? {
        let bytes: [UInt8] = key.withKeyValueBytes { Array($0) }
        return try await get(bytes, options: options)
    }

    /// The value of each key (nil: absent), in the order of `keys`.
    public func multiGet(_ keys: [[UInt8]], options: ReadOptions = ReadOptions()) async throws -> [[UInt8]?] {
        if keys.isEmpty { return [] }
        let impl = self.impl, data = self.data
        return try await impl.readingAsync { try await impl.lookupAsync(keys, options: options, keyspace: data) }
    }

    /// `multiGet` of keys of any `KeyValueBytes` type.
    public func multiGet<Key: KeyValueBytes>(_ keys: [Key], options: ReadOptions = ReadOptions()) async throws
        -> [[UInt8]?] {
        try await multiGet(keys.map { $0.withKeyValueBytes { Array($0) } }, options: options)
    }

    // MARK: - Writes

    /// Writes `value` under `key` in this keyspace; returns once its group
    /// committed.
    /// - Throws: `CancellationError` (before submission), `DBError`.
    public func put<Key: KeyValueBytes, Value: KeyValueBytes>(
        _ key: Key, _ value: Value, options: WriteOptions = WriteOptions()
    ) async throws {
        var batch = WriteBatch()
        batch.put(key, value, in: self)
        try await db.write(batch, options: options)
    }

    /// Deletes `key` from this keyspace; returns once its group committed.
    public func delete<Key: KeyValueBytes>(_ key: Key, options: WriteOptions = WriteOptions()) async throws {
        var batch = WriteBatch()
        batch.delete(key, in: self)
        try await db.write(batch, options: options)
    }

    /// Deletes every key in `from..<to` of this keyspace; `from == to`
    /// writes nothing.
    public func deleteRange<From: KeyValueBytes, To: KeyValueBytes>(
        from: From, to: To, options: WriteOptions = WriteOptions()
    ) async throws {
        var batch = WriteBatch()
        batch.deleteRange(from: from, to: to, in: self)
        try batch.validate()
        let empty = from.withKeyValueBytes { f in to.withKeyValueBytes { t in compareBytes(f, t) == 0 } }
        if empty { return }
        try await db.write(batch, options: options)
    }

    // MARK: - Maintenance and iteration

    /// `flush()` on a thread of its own.
    public func flush() async throws {
        try impl.checkWritable()
        let impl = self.impl, data = self.data
        try await ThreadOffload.run { try impl.flushMemtable(data) }
    }

    /// `compactRange()` on a thread of its own.
    public func compactRange() async throws {
        try impl.checkWritable()
        let impl = self.impl, data = self.data
        try await ThreadOffload.run {
            try impl.flushMemtable(data)
            try impl.compactAll(data)
        }
    }

    /// The entries of this keyspace with `from <= key < to`, read in chunks
    /// off the cooperative pool (see `DB.entries`).
    public func entries(from: [UInt8] = [], to: [UInt8]? = nil, reverse: Bool = false, limit: Int = Int.max,
                        options: ReadOptions = ReadOptions()) -> DBEntries {
        DBEntries(db: db, keyspace: data, from: from, to: to, reverse: reverse, limit: limit, options: options)
    }
}
