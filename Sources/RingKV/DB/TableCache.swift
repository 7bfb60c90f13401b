import RingIO
import Synchronization

/// Open `TableReader`s by file number, at most `capacity` of them; the
/// least recently used is closed first. Safe from many threads.
///
/// Every table probe of every read asks here, so a hit takes the lock
/// shared (readers never wait for each other) and changes no shared
/// structure: it stamps the entry with the current use epoch (a relaxed
/// store to the entry's own word). The epoch advances only when a reader is
/// opened, so "least recently used" is approximate among tables used since
/// the last open — what matters is that tables unused for many opens go
/// first.
final class TableCache: Sendable {
    /// One open reader and when it was last used.
    private final class Entry: Sendable {
        let reader: TableReader
        let lastUse: Atomic<UInt64>
        init(reader: TableReader, lastUse: UInt64) {
            self.reader = reader
            self.lastUse = Atomic(lastUse)
        }
    }

    let dbPath: String
    let backend: any IOBackend
    let capacity: Int
    let directReads: Bool
    /// Open readers (written under the exclusive lock only).
    private let entries = ReadMostlyLock<[UInt64: Entry]>([:])
    /// The use epoch: +1 per reader opened.
    private let epoch = Atomic<UInt64>(0)

    init(dbPath: String, backend: any IOBackend, capacity: Int, directReads: Bool) {
        self.dbPath = dbPath
        self.backend = backend
        self.capacity = max(capacity, 8)
        self.directReads = directReads
    }

    func reader(for fileNumber: UInt64) throws -> TableReader {
        if let entry = entries.withReadLock({ $0[fileNumber] }) {
            let now = epoch.load(ordering: .relaxed)
            if entry.lastUse.load(ordering: .relaxed) != now { entry.lastUse.store(now, ordering: .relaxed) }
            return entry.reader
        }
        let path = FileNames.table(dbPath, fileNumber)
        let direct: File.DirectIO = directReads ? .preferred : .off
        let file = try ioCall(path) { () throws(IOError) in try backend.openFile(path, .read, direct: direct) }
        let reader = try TableReader.open(file: file, fileNumber: fileNumber, backend: backend)
        let now = epoch.add(1, ordering: .relaxed).newValue
        return entries.withWriteLock { entries in
            if let raced = entries[fileNumber] { return raced.reader }
            if entries.count >= capacity,
               let victim = entries.min(by: { $0.value.lastUse.load(ordering: .relaxed)
                                              < $1.value.lastUse.load(ordering: .relaxed) }) {
                entries[victim.key] = nil
            }
            entries[fileNumber] = Entry(reader: reader, lastUse: now)
            return reader
        }
    }

    /// Drops a table that compaction made obsolete.
    func evict(_ fileNumber: UInt64) {
        _ = entries.withWriteLock { $0.removeValue(forKey: fileNumber) }
    }

    /// Drops every reader (close): their descriptors close once no
    /// iterator still holds them.
    func evictAll() {
        entries.withWriteLock { $0.removeAll() }
    }

    var openCount: Int { entries.withReadLock { $0.count } }
}
