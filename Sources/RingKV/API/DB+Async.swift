/// The async API (docs/ARCHITECTURE.md §Async API): the same names as the
/// synchronous methods, chosen by the compiler in an async context, so
/// `try await db.get(k)` suspends where `try db.get(k)` would block.
///
/// - Reads suspend on io_uring completions (`AsyncReadRing`): a read that
///   misses the block cache holds no thread while the device works.
///   Memtable and cache hits answer without suspending.
/// - Writes suspend until their group committed; the database's commit
///   driver thread, not the caller's, runs the commit
///   (Write/AsyncWriteQueue.swift).
/// - A table not open yet is opened on a `BlockingWorkPool` thread.
/// - Open, close, flush, compactRange and checkpoint run on a thread of
///   their own while the task suspends (`ThreadOffload`).
/// - Cancellation: a task cancelled before its operation was submitted
///   gets `CancellationError` and nothing happened; once submitted (a
///   read's blocks handed to the ring, a write taken into a commit) the
///   operation completes and the task gets its outcome. The lifecycle
///   calls are not cancellable: once called they complete.
extension DB {
    // MARK: - Async lifecycle

    /// Opens (or with `createIfMissing`, creates) the database at `path`,
    /// as `init(path:options:)` does, on a thread of its own: recovery's
    /// reads and writes never block the calling task's thread.
    public convenience init(path: String, options: Options = Options()) async throws {
        self.init(impl: try await ThreadOffload.run { try DB.openImpl(path: path, options: options) })
    }

    /// `close()` on a thread of its own; the task suspends until the
    /// writes and reads in flight finished and the LOCK is released.
    /// Idempotent.
    public func close() async throws {
        let impl = self.impl
        if impl.mu.withLock({ impl.closed }) { return }
        try await ThreadOffload.run { try impl.close() }
    }

    /// `flush()` on a thread of its own; the task suspends until the
    /// memtable is in an L0 table.
    public func flush() async throws {
        try impl.checkWritable()
        let impl = self.impl
        try await ThreadOffload.run { try impl.flushMemtable() }
    }

    /// `compactRange()` on a thread of its own; the task suspends until
    /// the compaction is done.
    public func compactRange() async throws {
        try impl.checkWritable()
        let impl = self.impl
        try await ThreadOffload.run {
            try impl.flushMemtable()
            try impl.compactAll()
        }
    }

    /// `checkpoint(to:)` on a thread of its own; the task suspends until
    /// the copy is complete and synced.
    public func checkpoint(to path: String) async throws {
        let impl = self.impl
        try await ThreadOffload.run { try impl.checkpoint(to: path) }
    }

    // MARK: - Async reads

    /// The newest value of `key`, or nil; suspends (never blocks) on disk reads.
    /// - Throws: `CancellationError`, `DBError`.
    public func get(_ key: [UInt8], options: ReadOptions = ReadOptions()) async throws -> [UInt8]? {
        try await impl.readingAsync { try await impl.getAsync(key, options: options) }
    }

    /// The newest value of `key` as UTF-8 text, or nil (async).
    public func get(_ key: String, options: ReadOptions = ReadOptions()) async throws -> String? {
        try await get(Array(key.utf8), options: options).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The value of each key (nil: absent), in the order of `keys`; every
    /// round's cache-missing blocks go to the ring as one batch and the
    /// task suspends until they are read.
    /// - Throws: `CancellationError`, `DBError`.
    public func multiGet(_ keys: [[UInt8]], options: ReadOptions = ReadOptions()) async throws -> [[UInt8]?] {
        if keys.isEmpty { return [] }
        return try await impl.readingAsync { try await impl.lookupAsync(keys, options: options) }
    }

    /// The newest value of `key` of any `KeyValueBytes` type (copied
    /// once: a key cannot be lent across a suspension), or nil.
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

    // MARK: - Async writes

    /// Writes `value` under `key` (any `KeyValueBytes` types, mixed);
    /// returns once its group committed (and, with `sync`, is on disk).
    /// - Throws: `CancellationError` (before submission), `DBError`.
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

    /// Applies `batch` atomically; returns once its group committed.
    /// - Throws: `CancellationError` (before submission), `DBError`.
    public func write(_ batch: WriteBatch, options: WriteOptions = WriteOptions()) async throws {
        try impl.checkWritable()
        try batch.validate()
        try impl.checkMerges(in: batch)
        try impl.checkDefaultHandles(of: batch)
        // An empty synced batch still goes to the driver, which syncs the
        // log's unsynced tail (DBImpl.write).
        if batch.isEmpty && !options.sync { return }
        try await impl.asyncWrites.write(batch, sync: options.sync, into: impl)
    }

    // MARK: - Async iteration

    /// The entries with `from <= key < to` (no `to`: to the end), in key
    /// order — with `reverse`, in descending order from the last key below
    /// `to` down to `from` — at most `limit` of them, read in chunks off
    /// the cooperative pool. The iterator's view (memtables, tables,
    /// sequence) is taken at the first `next()`; pass a snapshot in
    /// `options` to fix it earlier. The range is also intersected with
    /// `options.lowerBound`/`upperBound`, and no block past it is read.
    public func entries(from: [UInt8] = [], to: [UInt8]? = nil, reverse: Bool = false, limit: Int = Int.max,
                        options: ReadOptions = ReadOptions()) -> DBEntries {
        DBEntries(db: self, keyspace: nil, from: from, to: to, reverse: reverse, limit: limit, options: options)
    }
}
