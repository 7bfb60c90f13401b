import RingIO

/// The open MANIFEST being appended to: one `LogRecord` frame per
/// `VersionEdit` (docs/FORMAT.md §MANIFEST). Opened buffered, not
/// O_DIRECT: edits are small and every append is followed by an fsync.
///
/// Not thread-safe on its own; `VersionSet` keeps it behind a mutex.
struct ManifestLog {
    let number: UInt64
    let path: String
    let file: File
    /// Where the next record goes (= bytes written so far).
    private(set) var offsetBytes: UInt64 = 0
    /// Set when an append or fsync failed: what is on disk past
    /// `offsetBytes` is unknown, so no further edit may be logged.
    private(set) var failure: IOError?

    /// Creates MANIFEST-`number` (truncating a leftover of an earlier,
    /// interrupted attempt) holding the `snapshot` records (one write, one
    /// fsync). CURRENT is not touched. On failure the new file is removed.
    static func create(dbPath: String, number: UInt64, snapshot: [VersionEdit],
                       backend: any IOBackend) throws(DBError) -> ManifestLog {
        let path = FileNames.manifest(dbPath, number)
        let file: File
        do { file = try backend.openFile(path, [.write, .create, .truncate], direct: .off) } catch { throw DBError.io(error.at(path: path)) }
        var log = ManifestLog(number: number, path: path, file: file)
        do {
            try log.append(snapshot.map { $0.encode() }, backend: backend)
        } catch {
            try? file.close()
            try? backend.removeFile(path)
            throw error
        }
        return log
    }

    /// Frames `payload` as one record, writes it at the end of the file and
    /// fsyncs (data only: the file size is included in fdatasync). The
    /// edit is durable when this returns.
    mutating func append(_ payload: [UInt8], backend: any IOBackend) throws(DBError) {
        try append([payload], backend: backend)
    }

    /// Frames each payload as one record and appends them with one write
    /// and one fsync.
    mutating func append(_ payloads: [[UInt8]], backend: any IOBackend) throws(DBError) {
        if let failure { throw DBError.readOnly(.manifestFailed(failure)) }
        var w = ByteWriter(capacity: payloads.reduce(0) { $0 + LogRecord.headerSize + $1.count })
        for payload in payloads { payload.withUnsafeBytes { LogRecord.encode($0, into: &w) } }
        do throws(IOError) {
            try w.bytes.withBytes { (bytes) throws(IOError) in try backend.write(fd: file.fd, from: bytes, offset: offsetBytes) }
            try backend.sync(fd: file.fd, dataOnly: true)
        } catch let e {
            if e.memoryMayStillBeInUse { Quarantine.keep(value: w.bytes) }
            let error = e.at(path: path)
            failure = error
            throw DBError.io(error)
        }
        offsetBytes += UInt64(w.count)
    }

    func close() throws(DBError) {
        do { try file.close() } catch { throw DBError.io(error.at(path: path)) }
    }
}
