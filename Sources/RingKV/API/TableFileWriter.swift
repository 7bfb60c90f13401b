import RingIO

/// Writes a table file, in the engine's own table format, for `DB.ingest`
/// (docs/INGEST.md): bulk data goes to disk once, without the WAL and the
/// memtable.
///
///     let writer = try TableFileWriter(path: "/tmp/bulk.sst", for: users)
///     for (k, v) in sortedPairs { try writer.add(k, v) }
///     let info = try writer.finish()          // synced; then:
///     try users.ingest([info.path])
///
/// Data flows: each `add` checks that its key sorts strictly after the
/// previous one (`DBError.tableFileRefused` otherwise, and nothing of it
/// is written), and queues it, with the trailer of sequence 0 and type
/// value, for the engine's `TableBuilder`, which runs on a thread of its
/// own (`RecordPipeline`): data blocks, bloom and prefix filters, index,
/// compression, checksums and writes. An error of that thread is thrown
/// by a later `add` (the one that hands over the next chunk of records)
/// or by `finish`. `finish` writes the index, filters, properties
/// and footer, fsyncs the file, and records it (`WrittenTables`) so that
/// an ingest by this process need not read it back while it is unchanged.
/// The sequence the entries take is given at ingest, in the MANIFEST —
/// not in the file.
///
/// Use from one thread. A writer that is dropped unfinished, or whose
/// write failed, removes its file.
public final class TableFileWriter {
    /// What `finish` wrote.
    public struct Info: Sendable, Equatable {
        public var path: String
        public var entryCount: UInt64
        public var fileSizeBytes: UInt64
        public var smallestKey: [UInt8]
        public var largestKey: [UInt8]
    }

    public let path: String
    private let backend: any IOBackend
    private let file: File
    /// The table builder, on the pipeline's thread until `finish`.
    private let pipeline: RecordPipeline
    @exclusivity(unchecked) private var firstKey: [UInt8] = []
    @exclusivity(unchecked) public private(set) var entryCount: UInt64 = 0
    /// Set by `finish` (successful or not) and after a failed write: no
    /// more entries.
    @exclusivity(unchecked) private var closed = false
    @exclusivity(unchecked) private var finished = false

    /// A writer whose tables suit a keyspace with `options` in a database
    /// opened with `databaseOptions` (the keyspace options override them,
    /// as `DB.keyspace(_:options:)` does). Creates or truncates `path`.
    public convenience init(path: String, options: KeyspaceOptions = KeyspaceOptions(),
                databaseOptions: Options = Options()) throws(DBError) {
        try options.validate()
        // As `DB.init` does: a block size of 0 trapped in TableBuilder.
        try databaseOptions.validate()
        try TTLPolicy.refuseTables(for: options.ttl != nil, keyspace: "(options)")
        try self.init(path: path, tableOptions: options.applied(to: databaseOptions),
                      backend: IOBackends.makeDefault())
    }

    /// A writer with the options of `keyspace` (its compression, block
    /// size, bloom bits and prefix length).
    public convenience init(path: String, for keyspace: Keyspace) throws(DBError) {
        try TTLPolicy.refuseTables(for: keyspace.data.stampsWriteTime, keyspace: keyspace.data.name)
        try keyspace.impl.refuseOwnFile(path, TableFileWriter.truncationRefusal)
        // Under mu: `db.keyspace(name, options:)` may replace them meanwhile.
        let options = keyspace.impl.mu.withLock { keyspace.data.options }
        try self.init(path: path, tableOptions: options, backend: keyspace.impl.backend)
    }

    /// A writer with the options of `db`'s default keyspace.
    public convenience init(path: String, for db: DB) throws(DBError) {
        try db.impl.refuseOwnFile(path, TableFileWriter.truncationRefusal)
        let options = db.impl.mu.withLock { db.impl.defaultKeyspace.options }
        try self.init(path: path, tableOptions: options, backend: db.impl.backend)
    }

    /// Why a writer for a database may not take one of its own files.
    static let truncationRefusal = "a writer would truncate it (write the table file elsewhere)"

    init(path: String, tableOptions: Options, backend: any IOBackend) throws(DBError) {
        self.path = path
        self.backend = backend
        // O_DIRECT when the filesystem allows it (buffered otherwise): the
        // output is aligned chunks anyway, and a bulk file through the page
        // cache met the kernel's dirty-page throttling (a 1.2 GB file
        // waited in pwrite longer than it computed). An ingest by this
        // process does not read it back (WrittenTables).
        file = try ioCall(path) { () throws(IOError) in
            try backend.openFile(path, [.readWrite, .create, .truncate], direct: .preferred)
        }
        var builderOptions = TableOutput.builderOptions(tableOptions)
        builderOptions.splitFilterFinish = true
        do throws(DBError) {
            pipeline = try RecordPipeline(builder: TableBuilder(file: file, backend: backend, options: builderOptions))
        } catch {
            // No thread for the pipeline: the empty file goes.
            try? file.close()
            try? backend.removeFile(path)
            throw error
        }
    }

    deinit {
        if !finished {
            pipeline.abandon().abandon()
            try? file.close()
            try? backend.removeFile(path)
        }
    }

    /// Adds `key` → `value`. Keys must be strictly increasing (bytewise);
    /// an equal or smaller one throws `.tableFileRefused` and the file
    /// stays as it was (later keys may still be added).
    public func add(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(DBError) {
        guard !closed else { throw DBError.misuse("TableFileWriter.add after finish() or a failed write") }
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: value.count)
        if entryCount > 0 {
            let previous = pipeline.lastUserKey
            let order = Self.order(previous, key)
            guard order < 0 else {
                let last = Array(previous)
                throw DBError.tableFileRefused(path: path, reason: "key \(FileMetaData.render(Array(key))) "
                    + (order == 0 ? "repeats the previous key" : "sorts before the previous key \(FileMetaData.render(last))")
                    + " (keys must be strictly increasing)")
            }
        }
        do throws(DBError) {
            try pipeline.add(userKey: key, trailer: TableFileWriter.trailer, value)
        } catch {
            closed = true
            throw error
        }
        if entryCount == 0 { firstKey = Array(key) }
        entryCount += 1
    }

    /// Bytewise order of `a` and `b` (-1, 0, 1), as `compareBytes`, inline
    /// and 8 bytes at a time instead of through memcmp: this compare runs
    /// once per entry on the bulk write's critical path.
    @inline(__always)
    static func order(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = BlockBuilder.commonPrefixLength(a, b)
        if n < a.count && n < b.count { return a[n] < b[n] ? -1 : 1 }
        return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
    }

    /// Sequence 0, type value, little-endian: every entry's trailer.
    private static let trailer = InternalKey.packTrailer(0, .value).littleEndian

    /// `add` for byte arrays (the contract's form; no generic dispatch).
    public func add(_ key: [UInt8], _ value: [UInt8]) throws(DBError) {
        try key.withBytes { (k) throws(DBError) in
            try value.withBytes { (v) throws(DBError) in try add(k, v) }
        }
    }

    /// `add` for keys and values of any `KeyValueBytes` type.
    public func add<Key: KeyValueBytes, Value: KeyValueBytes>(_ key: Key, _ value: Value) throws(DBError) {
        try key.withKeyValueBytes { (k) throws(DBError) in
            try value.withKeyValueBytes { (v) throws(DBError) in try add(k, v) }
        }
    }

    /// Writes the rest of the table and fsyncs it. A writer with no entry
    /// throws `.tableFileRefused` (an empty table holds nothing to ingest)
    /// and removes its file.
    @discardableResult
    public func finish() throws(DBError) -> Info {
        guard !closed else { throw DBError.misuse("TableFileWriter.finish after finish() or a failed write") }
        closed = true
        guard entryCount > 0 else {
            throw DBError.tableFileRefused(path: path, reason: "no entries were added")
        }
        let lastKey = Array(pipeline.lastUserKey)
        let properties = try pipeline.finish().finish()
        WrittenTables.remember(fd: file.fd, entryCount: entryCount, smallestUserKey: firstKey, largestUserKey: lastKey)
        try ioCall(path) { () throws(IOError) in try file.close() }
        finished = true
        return Info(path: path, entryCount: entryCount, fileSizeBytes: properties.fileSizeBytes,
                    smallestKey: firstKey, largestKey: lastKey)
    }
}
