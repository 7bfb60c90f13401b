import RingIO

/// Writes an immutable memtable to a new L0 table and installs it with the
/// WAL number that makes the memtable's log obsolete, in one manifest edit.
enum FlushJob {
    static func run(_ memtable: MemTable, db: DBImpl, logNumber: UInt64) throws {
        let number = db.versions.newFileNumber()
        db.mu.withLock { _ = db.pendingOutputs.insert(number) }
        defer { db.mu.withLock { _ = db.pendingOutputs.remove(number) } }
        var edit = VersionEdit()
        if let meta = try TableFiles.build(from: memtable.makeIterator(), number: number, dbPath: db.path,
                                           backend: db.backend, options: db.options) {
            edit.addFile(level: 0, meta)
            db.stats.flushBytesWritten.add(meta.fileSizeBytes)
        }
        edit.logNumber = logNumber
        edit.lastSequence = db.mu.withLock { db.lastSequence }
        try db.versions.logAndApply(edit)
    }
}

/// Writing one sorted run of entries to a table file.
enum TableFiles {
    /// Writes every entry of `iterator` to table `number` (O_DIRECT when the
    /// filesystem allows), syncs it and its directory entry. Returns nil and
    /// leaves no file when the iterator is empty.
    static func build(from iterator: any InternalIterator, number: UInt64, dbPath: String,
                      backend: any IOBackend, options: Options) throws -> FileMetaData? {
        try iterator.seekToFirst()
        guard iterator.isValid else { return nil }
        let path = FileNames.table(dbPath, number)
        let file = try ioCall(path) { () throws(IOError) in
            try File.open(path, [.readWrite, .create, .truncate], direct: .preferred)
        }
        defer { try? file.close() }
        var builderOptions = TableBuilderOptions()
        builderOptions.blockSizeBytes = options.blockSizeBytes
        builderOptions.bloomBitsPerKey = options.bloomBitsPerKey
        builderOptions.compression = options.compression ? .lz4 : .uncompressed
        let builder = try TableBuilder(file: file, backend: backend, options: builderOptions)
        do {
            while iterator.isValid {
                try builder.add(iterator.key, iterator.value)
                try iterator.next()
            }
            let properties = try builder.finish()
            try ioCall(dbPath) { () throws(IOError) in try FileSystem.syncDirectory(dbPath) }
            return FileMetaData(number: number, fileSizeBytes: properties.fileSizeBytes,
                                smallest: properties.smallestKey, largest: properties.largestKey,
                                smallestSequence: properties.smallestSequence,
                                largestSequence: properties.largestSequence)
        } catch {
            builder.abandon()
            try? FileSystem.remove(path)
            throw error
        }
    }
}
