/// The async forms of DB+Bytes.swift: keys and values of any
/// `KeyValueBytes` type in an async context (`try await db.get(Data(k))`),
/// through the `[UInt8]` and `WriteBatch` async methods of DB+Async.swift.
///
/// They must exist while the synchronous generic forms do: without them,
/// a call in an async context whose arguments are built inline
/// (`try await put(Array(key.utf8), Array(value.utf8))`, as DB+Async's
/// `String` overloads are written) resolves to the synchronous generic
/// method and blocks the cooperative thread. When DB+Async.swift takes
/// `KeyValueBytes` itself, these move there.
extension DB {
    /// Writes `value` under `key`; returns once its group committed.
    public func put<Key: KeyValueBytes, Value: KeyValueBytes>(
        _ key: Key, _ value: Value, options: WriteOptions = WriteOptions()
    ) async throws {
        var batch = WriteBatch()
        batch.put(key, value)
        try await write(batch, options: options)
    }

    /// Deletes `key`; returns once its group committed.
    public func delete<Key: KeyValueBytes>(_ key: Key, options: WriteOptions = WriteOptions()) async throws {
        var batch = WriteBatch()
        batch.delete(key)
        try await write(batch, options: options)
    }

    /// Deletes every key in `from..<to` with one range tombstone; `from ==
    /// to` writes nothing.
    public func deleteRange<From: KeyValueBytes, To: KeyValueBytes>(
        from: From, to: To, options: WriteOptions = WriteOptions()
    ) async throws {
        var batch = WriteBatch()
        batch.deleteRange(from: from, to: to)
        try batch.validate()
        let empty = from.withKeyValueBytes { f in to.withKeyValueBytes { t in compareBytes(f, t) == 0 } }
        if empty { return }
        try await write(batch, options: options)
    }

    /// The newest value of `key`, or nil; suspends on disk reads.
    public func get<Key: KeyValueBytes>(_ key: Key, options: ReadOptions = ReadOptions()) async throws -> [UInt8]? {
        let bytes: [UInt8] = key.withKeyValueBytes { Array($0) }
        return try await get(bytes, options: options)
    }

    /// The value of each key (nil: absent), in the order of `keys`.
    public func multiGet<Key: KeyValueBytes>(_ keys: [Key], options: ReadOptions = ReadOptions()) async throws
        -> [[UInt8]?] {
        let bytes: [[UInt8]] = keys.map { $0.withKeyValueBytes { Array($0) } }
        return try await multiGet(bytes, options: options)
    }
}
