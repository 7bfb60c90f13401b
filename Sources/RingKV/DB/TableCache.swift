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

    private struct State {
        var entries: [UInt64: Entry] = [:]
        /// Set by `close()`: no reader is handed out or kept after it.
        var closed = false
        /// A follower's tables of its last two catch-ups
        /// (FollowerCatchUp.swift), found here when evicted from
        /// `entries`: the primary may have deleted their files.
        var followerPins: [UInt64: TableReader] = [:]
        var previousFollowerPins: [UInt64: TableReader] = [:]
    }

    let dbPath: String
    let backend: any IOBackend
    let capacity: Int
    let directReads: Bool
    /// Open readers (written under the exclusive lock only).
    private let state = ReadMostlyLock<State>(State())
    /// The use epoch: +1 per reader opened.
    private let epoch = Atomic<UInt64>(0)
    /// `TableReader.pinnedMemoryBytes` summed over the cached readers
    /// (changed under the exclusive lock, read anywhere).
    private let pinnedBytes = Atomic<Int>(0)
    /// Blocks read by table opens (`TableReader.openBlocksRead`), ever.
    private let openReads = Atomic<UInt64>(0)
    /// Ingested tables' global sequences by file number (the lock guards
    /// the dictionary): registered at open for every live ingested table
    /// and by an ingest before its edit, so a reader is never opened
    /// without it.
    private let globalSequences = Locked<[UInt64: SequenceNumber]>([:])

    init(dbPath: String, backend: any IOBackend, capacity: Int, directReads: Bool) {
        self.dbPath = dbPath
        self.backend = backend
        self.capacity = max(capacity, 8)
        self.directReads = directReads
    }

    /// The reader of `fileNumber`, opened (file, footer, index and filter
    /// reads) when it is not open yet: blocking, never on a task's thread.
    func reader(for fileNumber: UInt64) throws(DBError) -> TableReader {
        if let open = try cachedReader(for: fileNumber) { return open }
        if let pinned = state.withReadLock({ $0.followerPins[fileNumber] ?? $0.previousFollowerPins[fileNumber] }) {
            return pinned
        }
        let path = FileNames.table(dbPath, fileNumber)
        let direct: File.DirectIO = directReads ? .preferred : .off
        let file = try ioCall(path) { () throws(IOError) in try backend.openFile(path, .read, direct: direct) }
        // Gets read one block at a random offset: the kernel's read-ahead
        // around it would fill a page cache that is short of room with
        // pages nobody asked for (RocksDB advises the same on open).
        // Windowed reads (iterators, compaction) ask for their exact
        // sizes, which the kernel reads whatever the advice. A hint: a
        // refusal changes nothing.
        if !file.isDirect { try? file.advise(.random) }
        let globalSequence = globalSequences.withLock { $0[fileNumber] ?? 0 }
        let reader = try TableReader.open(file: file, fileNumber: fileNumber, backend: backend,
                                          globalSequence: globalSequence)
        openReads.add(UInt64(reader.openBlocksRead), ordering: .relaxed)
        let now = epoch.add(1, ordering: .relaxed).newValue
        return try state.withWriteLock { s throws(DBError) in
            // Closed meanwhile: the new reader is dropped (its descriptor
            // closes with it) rather than kept by a closed database.
            if s.closed { throw DBError.closed }
            if let raced = s.entries[fileNumber] { return raced.reader }
            if s.entries.count >= capacity,
               let victim = s.entries.min(by: { $0.value.lastUse.load(ordering: .relaxed)
                                                < $1.value.lastUse.load(ordering: .relaxed) }) {
                s.entries[victim.key] = nil
                pinnedBytes.subtract(victim.value.reader.pinnedMemoryBytes, ordering: .relaxed)
            }
            s.entries[fileNumber] = Entry(reader: reader, lastUse: now)
            pinnedBytes.add(reader.pinnedMemoryBytes, ordering: .relaxed)
            return reader
        }
    }

    /// The reader of `fileNumber` if it is open; nil otherwise (nothing is
    /// opened: no I/O, a shared lock).
    func cachedReader(for fileNumber: UInt64) throws(DBError) -> TableReader? {
        let (hit, closed) = state.withReadLock { ($0.entries[fileNumber], $0.closed) }
        if closed { throw DBError.closed }
        guard let entry = hit else { return nil }
        let now = epoch.load(ordering: .relaxed)
        if entry.lastUse.load(ordering: .relaxed) != now { entry.lastUse.store(now, ordering: .relaxed) }
        return entry.reader
    }

    /// `reader(for:)` for a task: a table not open yet is opened on a
    /// `BlockingWorkPool` thread while the task suspends.
    func readerAsync(for fileNumber: UInt64) async throws -> TableReader {
        if let open = try cachedReader(for: fileNumber) { return open }
        return try await BlockingWorkPool.shared.run { [self] in try reader(for: fileNumber) }
    }

    /// A follower's catch-up: `pins` stay reachable until the catch-up
    /// after next.
    func pinFollowerTables(_ pins: [UInt64: TableReader]) {
        state.withWriteLock { s in
            s.previousFollowerPins = s.followerPins
            s.followerPins = pins
        }
    }

    /// Records the global sequence of the ingested table `fileNumber`.
    func registerGlobalSequence(_ sequence: SequenceNumber, fileNumber: UInt64) {
        globalSequences.withLock { $0[fileNumber] = sequence }
    }

    /// Registers every ingested table of `versions`' live keyspaces.
    func registerGlobalSequences(of versions: VersionSet) {
        for record in versions.keyspaceRecords {
            guard let version = versions.current(keyspace: record.id) else { continue }
            for level in version.files {
                for file in level where file.globalSequence != 0 {
                    registerGlobalSequence(file.globalSequence, fileNumber: file.number)
                }
            }
        }
    }

    /// Drops a table that compaction made obsolete.
    func evict(_ fileNumber: UInt64) {
        _ = globalSequences.withLock { $0.removeValue(forKey: fileNumber) }
        state.withWriteLock { s in
            if let gone = s.entries.removeValue(forKey: fileNumber) {
                pinnedBytes.subtract(gone.reader.pinnedMemoryBytes, ordering: .relaxed)
            }
        }
    }

    /// Drops every reader and takes no more (the database closed): their
    /// descriptors close once no iterator still holds them.
    func close() {
        state.withWriteLock { s in
            s.entries.removeAll()
            s.followerPins = [:]
            s.previousFollowerPins = [:]
            s.closed = true
            pinnedBytes.store(0, ordering: .relaxed)
        }
    }

    var openCount: Int { state.withReadLock { $0.entries.count } }

    /// Index, filter and tombstone memory of the open readers: bounded by
    /// `capacity` readers (`DBStats.pinnedTableMemoryBytes`).
    var pinnedMemoryBytes: Int { pinnedBytes.load(ordering: .relaxed) }

    /// Blocks read from table files by opens since the database opened.
    var blocksReadByOpens: UInt64 { openReads.load(ordering: .relaxed) }
}
