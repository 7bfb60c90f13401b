import RingIO

/// Open `TableReader`s by file number, at most `capacity` of them; the
/// least recently used is closed first. Safe from many threads.
final class TableCache: Sendable {
    private struct Entry {
        var reader: TableReader
        var lastUse: UInt64
    }
    private struct State {
        var entries: [UInt64: Entry] = [:]
        var clock: UInt64 = 0
        /// Set by `close()`: no reader is handed out or kept after it.
        var closed = false
    }

    let dbPath: String
    let backend: any IOBackend
    let capacity: Int
    let directReads: Bool
    /// Open readers and the use clock.
    private let state = Locked(State())

    init(dbPath: String, backend: any IOBackend, capacity: Int, directReads: Bool) {
        self.dbPath = dbPath
        self.backend = backend
        self.capacity = max(capacity, 8)
        self.directReads = directReads
    }

    func reader(for fileNumber: UInt64) throws -> TableReader {
        if let cached = try state.withLock({ s throws -> TableReader? in
            if s.closed { throw DBError.closed }
            s.clock += 1
            s.entries[fileNumber]?.lastUse = s.clock
            return s.entries[fileNumber]?.reader
        }) {
            return cached
        }
        let path = FileNames.table(dbPath, fileNumber)
        let direct: File.DirectIO = directReads ? .preferred : .off
        let file = try ioCall(path) { () throws(IOError) in try backend.openFile(path, .read, direct: direct) }
        let reader = try TableReader.open(file: file, fileNumber: fileNumber, backend: backend)
        return try state.withLock { s throws in
            // Closed meanwhile: the new reader is dropped (its descriptor
            // closes with it) rather than kept by a closed database.
            if s.closed { throw DBError.closed }
            if let raced = s.entries[fileNumber] { return raced.reader }
            s.clock += 1
            if s.entries.count >= capacity, let victim = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                s.entries[victim.key] = nil
            }
            s.entries[fileNumber] = Entry(reader: reader, lastUse: s.clock)
            return reader
        }
    }

    /// Drops a table that compaction made obsolete.
    func evict(_ fileNumber: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: fileNumber) }
    }

    /// Drops every reader and takes no more (the database closed): their
    /// descriptors close once no iterator still holds them.
    func close() {
        state.withLock { s in
            s.entries.removeAll()
            s.closed = true
        }
    }

    var openCount: Int { state.withLock { $0.entries.count } }
}
