import Synchronization

/// An `AsyncSequence` of the entries of a key range (`DB.entries`).
///
/// Its iterator reads a chunk of rows at a time from a `DBIterator` on a
/// `BlockingWorkPool` thread, so a chunk whose blocks miss the cache waits
/// for the disk there, never on a cooperative thread; the task suspends
/// meanwhile. The first chunk is small (`firstChunkRows`, or the limit
/// when smaller) so that a loop that stops early reads little; later
/// chunks grow to `maxChunkRows`. When the loop breaks, the iterator is
/// dropped with the unread rest: no further read is made.
public struct DBEntries: AsyncSequence, Sendable {
    /// One entry: its key and its value, copied out of the engine.
    public typealias Element = (key: [UInt8], value: [UInt8])

    /// The database (and keyspace: nil for the default one) read.
    let db: DB
    let keyspace: KeyspaceData?
    let from: [UInt8]
    let to: [UInt8]?
    let reverse: Bool
    let limit: Int
    let options: ReadOptions

    static let firstChunkRows = 16
    static let maxChunkRows = 256
    /// A chunk also ends after this many key and value bytes.
    static let maxChunkBytes = 256 << 10

    /// An iterator over the range; each makes its own read view at its first `next()`.
    public func makeAsyncIterator() -> Iterator {
        Iterator(cursor: EntriesCursor(db: db, keyspace: keyspace, from: from, to: to, reverse: reverse, limit: limit,
                                       options: options))
    }

    /// Yields the rows of one chunk, then suspends for the next.
    ///
    /// Not `Sendable` (as `AsyncIteratorProtocol` allows, and as
    /// `AsyncStream`'s iterator is not): one task iterates. Copies of an
    /// iterator are one iterator — they share its position, so each row
    /// comes out once whichever copy asks.
    public struct Iterator: AsyncIteratorProtocol {
        let cursor: EntriesCursor

        init(cursor: EntriesCursor) { self.cursor = cursor }

        /// The next entry, or nil past the end of the range or the limit.
        /// Throws `CancellationError` when the task was cancelled, or `DBError`.
        public mutating func next() async throws -> Element? {
            try await cursor.next()
        }

        /// `next()` for a caller isolated to `actor`.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Element? {
            try await cursor.next()
        }
    }
}

@available(*, unavailable, message: "one task iterates; copies share the position")
extension DBEntries.Iterator: Sendable {}

/// The `DBIterator` behind a `DBEntries.Iterator`, the chunk it read, and
/// where the iteration stands. Every copy of the iterator uses this one
/// object, so copies share one position.
final class EntriesCursor: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is touched by `next()` on the
    // task that owns the (non-Sendable) iterator, and by `nextChunk()` on
    // a pool thread while that `next()` awaits it. Two `next()` calls at
    // once are impossible without unsafe code; `busy` rejects them anyway.
    private let db: DB
    private let keyspace: KeyspaceData?
    private let from: [UInt8]
    private let to: [UInt8]?
    private let reverse: Bool
    private var rowsLeft: Int
    private let options: ReadOptions
    private var iterator: DBIterator?
    private var chunkRows = DBEntries.firstChunkRows
    private var chunk: [DBEntries.Element] = []
    private var position = 0
    private var finished = false
    private let busy = Atomic<Bool>(false)
    /// Rows taken from the DBIterator so far (tests: early stop).
    private(set) var rowsRead = 0

    init(db: DB, keyspace: KeyspaceData?, from: [UInt8], to: [UInt8]?, reverse: Bool, limit: Int, options: ReadOptions) {
        self.db = db
        self.keyspace = keyspace
        self.from = from
        self.to = to
        self.reverse = reverse
        rowsLeft = max(limit, 0)
        self.options = options
    }

    func next() async throws -> DBEntries.Element? {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw DBError.misuse("next() called on a DBEntries iterator while another next() of it runs")
        }
        defer { busy.store(false, ordering: .releasing) }
        if position == chunk.count {
            if finished || rowsLeft == 0 { return nil }
            try Task.checkCancellation()
            let refill = try await BlockingWorkPool.shared.run { [self] in try nextChunk() }
            chunk = refill.rows
            position = 0
            finished = refill.isLast
            if chunk.isEmpty { return nil }
        }
        defer { position += 1 }
        return chunk[position]
    }

    /// The next rows (blocking: runs on a pool thread); `isLast` when the
    /// range is exhausted.
    private func nextChunk() throws -> (rows: [DBEntries.Element], isLast: Bool) {
        let it: DBIterator
        if let iterator {
            it = iterator
        } else {
            // The range as the iterator's bounds too: no block outside it
            // is read in either direction (as `DB.scan` does).
            let impl = db.impl
            let bounded = ReadOptions.bounded(options, from: from, to: to)
            it = try impl.reading { () throws(DBError) in try impl.makeIterator(options: bounded, keyspace: keyspace) }
            if reverse { try it.seekToLast() } else { try it.seekToFirst() }
            iterator = it
        }
        let wanted = min(chunkRows, rowsLeft)
        var rows: [DBEntries.Element] = []
        rows.reserveCapacity(wanted)
        var bytes = 0
        defer {
            rowsRead += rows.count
            rowsLeft -= rows.count
            chunkRows = min(chunkRows * 4, DBEntries.maxChunkRows)
        }
        while it.isValid && rows.count < wanted && bytes < DBEntries.maxChunkBytes {
            let key = it.key
            let value = it.value
            bytes += key.count + value.count
            rows.append((key, value))
            if reverse { try it.prev() } else { try it.next() }
        }
        return (rows, !it.isValid || rowsLeft - rows.count == 0)
    }
}
