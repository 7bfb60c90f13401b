import RingIO

/// One table being written by a flush or a compaction: the file (buffered,
/// or O_DIRECT when `Options.directTableWrites` is set and the filesystem
/// allows) and its `TableBuilder` (aligned chunks,
/// several writes in flight). `finish` fsyncs and closes the file;
/// `abandon` stops and removes it. The directory entry is the caller's to
/// sync (once for all outputs of a job).
///
/// Use from one thread.
final class TableOutput {
    let number: UInt64
    let path: String
    private let file: File
    private let builder: TableBuilder
    private let backend: any IOBackend
    /// Set by a successful `finish` or by `abandon`.
    private var closed = false

    init(number: UInt64, dbPath: String, backend: any IOBackend, options: Options) throws(DBError) {
        let path = FileNames.table(dbPath, number)
        self.number = number
        self.path = path
        self.backend = backend
        file = try ioCall(path) { () throws(IOError) in
            try backend.openFile(path, [.readWrite, .create, .truncate],
                                 direct: options.directTableWrites ? .preferred : .off)
        }
        builder = TableBuilder(file: file, backend: backend, options: TableOutput.builderOptions(options))
    }

    static func builderOptions(_ options: Options) -> TableBuilderOptions {
        var builderOptions = TableBuilderOptions()
        builderOptions.blockSizeBytes = options.blockSizeBytes
        builderOptions.bloomBitsPerKey = options.bloomBitsPerKey
        builderOptions.compression = options.compression ? .lz4 : .uncompressed
        builderOptions.prefixLength = options.prefixFilterLength
        return builderOptions
    }

    var entryCount: UInt64 { builder.entryCount }

    /// Whether the output file was opened with O_DIRECT.
    var isDirect: Bool { file.isDirect }

    /// See `TableBuilder.addRangeTombstones`.
    func addRangeTombstones(_ tombstones: [RangeTombstone]) { builder.addRangeTombstones(tombstones) }

    /// Size the file would have if finished now (meta blocks aside).
    var estimatedFileSizeBytes: UInt64 { builder.estimatedFileSizeBytes }

    /// Adds one entry; internal keys strictly increasing.
    func add(_ internalKey: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(DBError) {
        try builder.add(internalKey, value)
    }

    /// Writes the rest of the table, fsyncs and closes it. On failure the
    /// file is removed.
    func finish() throws(DBError) -> FileMetaData {
        precondition(!closed, "TableOutput.finish after finish() or abandon()")
        do {
            let properties = try builder.finish()
            try ioCall(path) { () throws(IOError) in try file.close() }
            closed = true
            return FileMetaData(number: number, fileSizeBytes: properties.fileSizeBytes,
                                smallest: properties.smallestKey, largest: properties.largestKey,
                                smallestSequence: properties.smallestSequence,
                                largestSequence: properties.largestSequence)
        } catch {
            abandon()
            throw error
        }
    }

    /// Stops writing and removes the file, unless `finish` succeeded
    /// (a finished table belongs to the caller). Idempotent.
    func abandon() {
        if closed { return }
        builder.abandon()
        closed = true
        try? file.close()
        try? backend.removeFile(path)
    }
}
