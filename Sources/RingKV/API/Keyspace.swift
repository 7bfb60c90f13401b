/// A named, independent key space of a database (`DB.keyspace(_:)`):
/// its own memtable, levels and compactions, sharing the database's WAL,
/// sequence numbers, snapshots, block cache and table cache. The DB's own
/// methods act on the keyspace named "default".
///
///     let users = try db.keyspace("users")
///     try users.put("user:1", json)
///     var batch = WriteBatch()
///     batch.put("user:1", json, in: users); batch.delete("idx:old", in: index)
///     try db.write(batch)                 // atomic across keyspaces
///
/// The methods mirror `DB`'s (sync and async, any `KeyValueBytes` keys and
/// values, iterators, `scan`, `multiGet`); a snapshot of the database
/// (`ReadOptions(snapshot:)`) covers every keyspace. A handle keeps its
/// database open. Once the keyspace is dropped every call throws
/// `DBError.keyspaceDropped` — reads never create or revive it — while
/// iterators made before go on reading what they saw.
public final class Keyspace: Sendable {
    /// The database this keyspace belongs to (kept open by the handle).
    public let db: DB
    let data: KeyspaceData

    init(db: DB, data: KeyspaceData) {
        self.db = db
        self.data = data
    }

    var impl: DBImpl { db.impl }

    /// The keyspace's name.
    public var name: String { data.name }

    /// What a write names as its keyspace: nil for "default", so the
    /// default keyspace's handle writes exactly what the DB's methods do.
    private var target: KeyspaceData? { data.id == 0 ? nil : data }

    // MARK: - Writes

    /// Sets `key` to `value` in this keyspace (see `DB.put(_:_:options:)`
    /// for durability and errors).
    public func put(_ key: [UInt8], _ value: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        try key.withBytes { (k) throws(DBError) in
            try value.withBytes { (v) throws(DBError) in try impl.put(k, v, sync: options.sync, keyspace: target) }
        }
    }

    /// `put` with a key and a value of any `KeyValueBytes` type.
    public func put<Key: KeyValueBytes, Value: KeyValueBytes>(
        _ key: Key, _ value: Value, options: WriteOptions = WriteOptions()
    ) throws(DBError) {
        try impl.checkWritable()
        try key.withKeyValueBytes { (k) throws(DBError) in
            try value.withKeyValueBytes { (v) throws(DBError) in
                try impl.put(k, v, sync: options.sync, keyspace: target)
            }
        }
    }

    /// Removes `key` from this keyspace.
    public func delete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        try key.withBytes { (k) throws(DBError) in try impl.delete(k, sync: options.sync, keyspace: target) }
    }

    /// `delete` of a key of any `KeyValueBytes` type.
    public func delete<Key: KeyValueBytes>(_ key: Key, options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        try key.withKeyValueBytes { (k) throws(DBError) in try impl.delete(k, sync: options.sync, keyspace: target) }
    }

    /// Deletes every key in `from..<to` of this keyspace with one range
    /// tombstone (see `DB.deleteRange(from:to:options:)`).
    public func deleteRange(from: [UInt8], to: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        try deleteRange(from: from[...], to: to[...], options: options)
    }

    /// `deleteRange` with bounds of any `KeyValueBytes` types.
    public func deleteRange<From: KeyValueBytes, To: KeyValueBytes>(
        from: From, to: To, options: WriteOptions = WriteOptions()
    ) throws(DBError) {
        try impl.checkWritable()
        var batch = WriteBatch()
        batch.deleteRange(from: from, to: to, in: self)
        try batch.validate()
        let empty = from.withKeyValueBytes { f in to.withKeyValueBytes { t in compareBytes(f, t) == 0 } }
        if empty { return }
        try impl.write(batch, sync: options.sync)
    }

    // MARK: - Reads

    /// The newest value of `key` in this keyspace visible to
    /// `options.snapshot` (the latest when nil), or nil.
    public func get(_ key: [UInt8], options: ReadOptions = ReadOptions()) throws(DBError) -> [UInt8]? {
        try impl.reading { () throws(DBError) in try impl.get(key, options: options, keyspace: data) }
    }

    /// The value of `key` (as UTF-8) decoded as UTF-8, or nil.
    public func get(_ key: String, options: ReadOptions = ReadOptions()) throws(DBError) -> String? {
        try get(Array(key.utf8), options: options).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `get` of a key of any `KeyValueBytes` type.
    public func get<Key: KeyValueBytes>(_ key: Key, options: ReadOptions = ReadOptions()) throws(DBError) -> [UInt8]? {
        try impl.reading { () throws(DBError) in
            try key.withKeyValueBytes { (k) throws(DBError) in try impl.get(k, options: options, keyspace: data) }
        }
    }

    /// Zero-copy read (see `DB.withValue(forKey:options:_:)`).
    public func withValue<Key: KeyValueBytes, R>(forKey key: Key, options: ReadOptions = ReadOptions(),
                                                 _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try impl.withValueRethrowing(forKey: key, options: options, keyspace: data, body)
    }

    /// Looks up many keys of this keyspace at one point in time; results
    /// in the order of `keys`.
    public func multiGet(_ keys: [[UInt8]], options: ReadOptions = ReadOptions()) throws(DBError) -> [[UInt8]?] {
        try impl.reading { () throws(DBError) in try impl.multiGet(keys, options: options, keyspace: data) }
    }

    /// `multiGet` of keys of any `KeyValueBytes` type.
    public func multiGet<Key: KeyValueBytes>(_ keys: [Key], options: ReadOptions = ReadOptions()) throws(DBError)
        -> [[UInt8]?] {
        try multiGet(keys.map { $0.withKeyValueBytes { Array($0) } }, options: options)
    }

    /// An iterator over this keyspace (see `DB.makeIterator(options:)`).
    public func makeIterator(options: ReadOptions = ReadOptions()) throws(DBError) -> DBIterator {
        try impl.reading { () throws(DBError) in try impl.makeIterator(options: options, keyspace: data) }
    }

    /// Up to `limit` pairs of this keyspace with `from <= key < to` (see
    /// `DB.scan(from:to:limit:reverse:options:)`).
    public func scan(from: [UInt8] = [], to: [UInt8]? = nil, limit: Int = Int.max, reverse: Bool = false,
                     options: ReadOptions = ReadOptions()) throws(DBError) -> [(key: [UInt8], value: [UInt8])] {
        try impl.reading { () throws(DBError) in
            try impl.scanRows(from: from, to: to, limit: limit, reverse: reverse, options: options, keyspace: data)
        }
    }

    /// `scan` with bounds of any `KeyValueBytes` type.
    public func scan<Key: KeyValueBytes>(from: Key, to: Key? = nil, limit: Int = Int.max, reverse: Bool = false,
                                         options: ReadOptions = ReadOptions()) throws(DBError)
        -> [(key: [UInt8], value: [UInt8])] {
        try scan(from: from.withKeyValueBytes { Array($0) }, to: to.map { $0.withKeyValueBytes { Array($0) } },
                 limit: limit, reverse: reverse, options: options)
    }

    // MARK: - Maintenance

    /// Writes this keyspace's memtable to an L0 table and waits for it.
    public func flush() throws(DBError) {
        try impl.checkWritable()
        try impl.flushMemtable(data)
    }

    /// Flushes, then compacts the whole keyspace into its deepest
    /// non-empty level (see `DB.compactRange()`).
    public func compactRange() throws(DBError) {
        try impl.checkWritable()
        try impl.flushMemtable(data)
        try impl.compactAll(data)
    }

    /// This keyspace's levels, memtables, flushes and compactions. After a
    /// drop: what it held when dropped is gone; the levels read empty.
    public func stats() -> KeyspaceStats {
        impl.mu.withLock { impl.keyspaceStatsLocked(data) }
    }
}
