/// An open RingKV database. Every method is safe to call from many threads
/// at once. Closing is idempotent and also happens on deinit (never on a
/// task's thread: DB+Drop.swift).
///
///     var options = Options()
///     options.createIfMissing = true
///     let db = try DB(path: "/data/db", options: options)
///     try db.put(Array("k".utf8), Array("v".utf8))
///
/// Errors thrown are always `DBError` (typed: `catch` gets a `DBError`).
public final class DB: Sendable {
    let impl: DBImpl

    /// Opens (or with `createIfMissing`, creates) the database at `path`.
    /// Takes an exclusive lock on `path/LOCK`; a second open fails with
    /// `DBError.locked`. With `Options.readOnly` the lock is shared with
    /// other read-only opens and nothing is written (but a missing LOCK
    /// file, created empty).
    ///
    /// A database dropped without `close()` inside a task is closed on a
    /// thread of its own (DB+Drop.swift); an open of it waits for that.
    public init(path: String, options: Options = Options()) throws {
        impl = try DB.openImpl(path: path, options: options)
    }

    init(impl: DBImpl) { self.impl = impl }

    static func openImpl(path: String, options: Options) throws -> DBImpl {
        PendingCloses.shared.waitUntilClosed(path)
        do {
            return try DBImpl(path: path, options: options)
        } catch DBError.locked(let lockPath) {
            // Perhaps held by a dropped database of this process whose
            // close is still running, under another spelling of the path.
            guard PendingCloses.shared.waitForAll() else { throw DBError.locked(path: lockPath) }
            return try DBImpl(path: path, options: options)
        }
    }

    /// Closes the database if `close()` was not called (DB+Drop.swift):
    /// right here, or — when the last reference went away in a task — on
    /// a thread of its own; logged either way.
    deinit { DB.closeDropped(impl) }

    // MARK: - Writes

    /// Sets `key` to `value`, replacing any earlier value.
    ///
    /// Acknowledged once the write reached the kernel (it survives a crash of
    /// the process); with `WriteOptions(sync: true)` only after its group's
    /// fdatasync (it survives a power loss). Concurrent writers share one WAL
    /// write and one fdatasync (group commit). Throws `DBError.tooLarge`
    /// for a key over `Options.maxKeySizeBytes` or a value over
    /// `Options.maxValueSizeBytes`, `DBError.readOnly` when the database
    /// takes no writes.
    ///
    /// Keys and values may also be `String`, `Data`, slices or any
    /// `KeyValueBytes`, mixed freely (DB+Bytes.swift): `put("user:1", json)`.
    public func put(_ key: [UInt8], _ value: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        try key.withBytes { (k) throws(DBError) in
            try value.withBytes { (v) throws(DBError) in try impl.put(k, v, sync: options.sync) }
        }
    }

    /// Removes `key` (writes a deletion marker; deleting an absent key is not
    /// an error). Durability as for `put(_:_:options:)`.
    public func delete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        try key.withBytes { (k) throws(DBError) in try impl.delete(k, sync: options.sync) }
    }

    /// Deletes every key `k` with `from <= k < to` by writing one range
    /// tombstone: one WAL record and microseconds whatever the range holds
    /// (docs/ARCHITECTURE.md §Range deletion). Snapshots taken before still
    /// see the keys; the space is reclaimed as compaction reaches them.
    /// `from == to` is an empty range: nothing is written. `from > to`
    /// throws `DBError.invalidRange` (as RocksDB's DeleteRange).
    public func deleteRange(from: [UInt8], to: [UInt8], options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        var batch = WriteBatch()
        batch.deleteRange(from: from, to: to)
        try batch.validate()
        if from == to { return }
        try impl.write(batch, sync: options.sync)
    }

    /// Applies every operation of `batch` atomically: after a crash either
    /// all of them are there or none.
    public func write(_ batch: WriteBatch, options: WriteOptions = WriteOptions()) throws(DBError) {
        try impl.checkWritable()
        try impl.write(batch, sync: options.sync)
    }

    // MARK: - Reads

    /// The newest value of `key` visible to `options.snapshot` (the latest
    /// state when nil), or nil when it is absent or deleted. See
    /// `withValue(forKey:options:_:)` for a read without a copy.
    public func get(_ key: [UInt8], options: ReadOptions = ReadOptions()) throws(DBError) -> [UInt8]? {
        try impl.reading { () throws(DBError) in try impl.get(key, options: options) }
    }

    /// The value of `key` (given as UTF-8), decoded as UTF-8 (invalid bytes
    /// become U+FFFD), or nil when absent. (`let v: [UInt8]? = try
    /// db.get("k")` gets the bytes.)
    public func get(_ key: String, options: ReadOptions = ReadOptions()) throws(DBError) -> String? {
        try value(forKeyBytes: key, options: options).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `get` of any key type (DB+Bytes.swift), without a copy of the key.
    func value(forKeyBytes key: some KeyValueBytes, options: ReadOptions) throws(DBError) -> [UInt8]? {
        try impl.reading { () throws(DBError) in
            try key.withKeyValueBytes { (k) throws(DBError) in try impl.get(k, options: options) }
        }
    }

    /// Zero-copy read: calls `body` with the newest visible value of `key`
    /// where it lies (a cached block or the memtable; a block read from
    /// disk is held for the call) and returns its result, or nil when the
    /// key is absent or deleted — without allocating.
    ///
    ///     let n: Int? = try db.withValue(forKey: k) { bytes in bytes.count }
    ///
    /// The buffer is valid only inside `body`: copy what you keep. No lock
    /// is held while `body` runs, so it may use the database itself.
    /// Errors are `DBError`s, or whatever `body` throws.
    public func withValue<R>(forKey key: [UInt8], options: ReadOptions = ReadOptions(),
                             _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try value(forKeyBytes: key, options: options, body)
    }

    /// `withValue` of any key type.
    func value<R>(forKeyBytes key: some KeyValueBytes, options: ReadOptions,
                  _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try impl.withValueRethrowing(forKey: key, options: options, keyspace: nil, body)
    }

    /// Looks up many keys at one consistent point in time; results are in
    /// the order of `keys`.
    public func multiGet(_ keys: [[UInt8]], options: ReadOptions = ReadOptions()) throws(DBError) -> [[UInt8]?] {
        try impl.reading { () throws(DBError) in try impl.multiGet(keys, options: options) }
    }

    /// A consistent read view; pass it in `ReadOptions(snapshot:)`.
    public func snapshot() -> Snapshot {
        // Registered under mu, so no compaction can pick its smallest
        // snapshot between reading the sequence and registering it.
        impl.mu.withLock {
            Snapshot(sequence: impl.lastSequence, registry: impl.snapshots, followerGeneration: impl.followerGeneration)
        }
    }

    /// Release iterators before `close()`: one used after close goes on
    /// reading the tables it holds open.
    public func makeIterator(options: ReadOptions = ReadOptions()) throws(DBError) -> DBIterator {
        try impl.reading { () throws(DBError) in try impl.makeIterator(options: options, keyspace: nil) }
    }

    /// Up to `limit` pairs with `from <= key < to` (`to` nil: to the end),
    /// in ascending key order; `reverse`: in descending order, from the
    /// last key below `to` down to `from` inclusive (the newest `limit`
    /// keys of the range). The range is also intersected with
    /// `options.lowerBound`/`upperBound`, and no block past it is read.
    public func scan(from: [UInt8] = [], to: [UInt8]? = nil, limit: Int = Int.max, reverse: Bool = false,
                     options: ReadOptions = ReadOptions()) throws(DBError) -> [(key: [UInt8], value: [UInt8])] {
        try impl.reading { () throws(DBError) in
            try impl.scanRows(from: from, to: to, limit: limit, reverse: reverse, options: options, keyspace: nil)
        }
    }

    // MARK: - Maintenance

    /// Writes the active memtable to an L0 table and waits for it.
    public func flush() throws(DBError) {
        try impl.checkWritable()
        try impl.flushMemtable()
    }

    /// Flushes the memtable, then compacts the whole key space into the
    /// deepest non-empty level (L1 at least): afterwards the tables hold
    /// one entry per live key and no deletion markers, except older
    /// versions a live snapshot still reads. Waits for running background
    /// compactions and holds new ones off until done.
    public func compactRange() throws(DBError) {
        try impl.checkWritable()
        try impl.flushMemtable()
        try impl.compactAll()
    }

    /// Counters and sizes of the engine now (cheap: relaxed atomic loads and a
    /// look at the current version).
    public func stats() -> DBStats { impl.makeStats() }

    /// Waits for in-flight writes and reads, stops background work,
    /// releases the lock. Iterators should be released first.
    public func close() throws { try impl.close() }
}
