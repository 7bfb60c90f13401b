/// An `AsyncSequence` of the entries of a key range (`DB.entries`).
///
/// Its iterator reads a chunk of rows at a time from a `DBIterator` on a
/// `BlockingWorkPool` thread, so a chunk whose blocks miss the cache waits
/// for the disk there, never on a cooperative thread; the task suspends
/// meanwhile. The first chunk is small (`firstChunkRows`) so that a loop
/// that stops early reads little; later chunks grow to `maxChunkRows`.
/// When the loop breaks, the iterator is dropped with the unread rest: no
/// further read is made.
public struct DBEntries: AsyncSequence, Sendable {
    /// One entry: its key and its value, copied out of the engine.
    public typealias Element = (key: [UInt8], value: [UInt8])

    let db: DB
    let from: [UInt8]
    let to: [UInt8]?
    let options: ReadOptions

    static let firstChunkRows = 16
    static let maxChunkRows = 256
    /// A chunk also ends after this many key and value bytes.
    static let maxChunkBytes = 256 << 10

    /// An iterator over the range; each makes its own read view at its first `next()`.
    public func makeAsyncIterator() -> Iterator {
        Iterator(cursor: EntriesCursor(db: db, from: from, to: to, options: options))
    }

    /// Yields the rows of one chunk, then suspends for the next.
    public struct Iterator: AsyncIteratorProtocol, Sendable {
        let cursor: EntriesCursor
        private var chunk: [Element] = []
        private var position = 0
        private var finished = false

        init(cursor: EntriesCursor) { self.cursor = cursor }

        /// The next entry in key order, or nil past the end of the range.
    /// Throws `CancellationError` when the task was cancelled, or `DBError`.
    public mutating func next() async throws -> Element? {
            if position == chunk.count {
                if finished { return nil }
                try Task.checkCancellation()
                let cursor = self.cursor
                let refill = try await BlockingWorkPool.shared.run { try cursor.nextChunk() }
                chunk = refill.rows
                position = 0
                finished = refill.isLast
                if chunk.isEmpty { return nil }
            }
            defer { position += 1 }
            return chunk[position]
        }
    }
}

/// The `DBIterator` behind a `DBEntries.Iterator`, and where it stands.
final class EntriesCursor: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is touched only by
    // `nextChunk`, which runs on a pool thread while the one async
    // iterator owning this cursor awaits it; the iterator's `next` is
    // mutating and awaited, so two chunks of one cursor never run at once.
    private let db: DB
    private let from: [UInt8]
    private let to: [UInt8]?
    private let options: ReadOptions
    private var iterator: DBIterator?
    private var chunkRows = DBEntries.firstChunkRows
    /// Rows taken from the DBIterator so far (tests: early stop).
    private(set) var rowsRead = 0

    init(db: DB, from: [UInt8], to: [UInt8]?, options: ReadOptions) {
        self.db = db
        self.from = from
        self.to = to
        self.options = options
    }

    /// The next rows (blocking: runs on a pool thread); `isLast` when the
    /// range is exhausted.
    func nextChunk() throws -> (rows: [DBEntries.Element], isLast: Bool) {
        let it: DBIterator
        if let iterator {
            it = iterator
        } else {
            // `to` as the iterator's upper bound too: no block past it is read.
            var bounded = options
            if let to, bounded.upperBound.map({ compareBytes(to, $0) < 0 }) ?? true { bounded.upperBound = to }
            it = try db.makeIterator(options: bounded)
            try it.seek(to: from)
            iterator = it
        }
        var rows: [DBEntries.Element] = []
        rows.reserveCapacity(chunkRows)
        var bytes = 0
        defer {
            rowsRead += rows.count
            chunkRows = min(chunkRows * 4, DBEntries.maxChunkRows)
        }
        while it.isValid && rows.count < chunkRows && bytes < DBEntries.maxChunkBytes {
            let key = it.key
            if let to, compareBytes(key, to) >= 0 { return (rows, true) }
            let value = it.value
            bytes += key.count + value.count
            rows.append((key, value))
            try it.next()
        }
        return (rows, !it.isValid)
    }
}
