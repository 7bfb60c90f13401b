import RingIO

/// Reads committed batches out of a database's WAL files for one change
/// feed (DB+Changes.swift), never past what the commit pipeline published
/// (`FeedNotifier.Watermark`).
///
/// How data flows: the first `read` finds the log holding `since + 1` (the
/// newest log whose first batch starts at or before it; the first
/// sequences are read once per log and cached). Each `read` then decodes
/// records from the current position: a closed log (numbered below the
/// watermark's live log) to its end, the live log up to the published end
/// offset — or, for `.synced` feeds, up to the durable offset — and moves
/// on to the next log file once a closed one is done. Batches whose first
/// sequence is at most `since` are skipped; every batch must start right
/// after the previous one, or the feed throws (nothing is skipped
/// silently): sequences no record holds (an ingest's) after the batches
/// before them, an overlap as corruption. Not thread-safe: one feed iterator owns it.
final class ChangeLogReader {
    let dbPath: String
    let backend: any IOBackend
    let since: UInt64
    let durability: ChangeDurability
    /// Keyspaces by id, refreshed when an id is missing.
    private var keyspaces: [UInt32: FeedKeyspace] = [:]
    private let resolveKeyspaces: () -> [UInt32: FeedKeyspace]
    /// The log being read, where the next record starts, and its reader.
    private var log: UInt64?
    private var offset = 0
    private var reader: LogReader?
    /// `reader` was opened while its log was live: its size is stale once
    /// the log is closed.
    private var readerOpenedLive = false
    /// The watermark of the current `read`.
    private var mark = FeedNotifier.Watermark(log: 0, endOffset: 0, lastSequence: 0, durableOffset: 0,
                                              generation: 0, closed: false)
    /// The first sequence the next batch must have (nil before the first).
    private var expectedNext: UInt64?
    /// First sequences of logs already looked at (nil: the log holds no batch).
    private var firstSequences: [UInt64: UInt64?] = [:]

    init(dbPath: String, backend: any IOBackend, since: UInt64, durability: ChangeDurability,
         resolveKeyspaces: @escaping () -> [UInt32: FeedKeyspace]) {
        self.dbPath = dbPath
        self.backend = backend
        self.since = since
        self.durability = durability
        self.resolveKeyspaces = resolveKeyspaces
    }

    /// Stops a log walk early (`readRecords` has no other way out).
    private struct Stop: Error { var offset: Int }

    /// Sequences no WAL record holds (a bulk ingest) were reached: the
    /// batches before them are yielded first, then this is thrown.
    private struct IngestGap: Error { var error: DBError }
    private var pendingGap: DBError?

    /// Appends to `out` the batches the watermark `mark` allows, at most
    /// about `maxBatches` of them. At a gap the batches before it go out
    /// first; the next call throws.
    func read(upTo mark: FeedNotifier.Watermark, maxBatches: Int, into out: inout [CommittedBatch]) throws {
        if let pendingGap { throw pendingGap }
        do {
            try readBatches(upTo: mark, maxBatches: maxBatches, into: &out)
        } catch let gap as IngestGap {
            if out.isEmpty { throw gap.error }
            pendingGap = gap.error
        }
    }

    private func readBatches(upTo mark: FeedNotifier.Watermark, maxBatches: Int,
                             into out: inout [CommittedBatch]) throws {
        self.mark = mark
        if log == nil { try locateStart(mark) }
        while let current = log, current <= mark.log, out.count < maxBatches {
            let live = current == mark.log
            var limit: Int?
            if live {
                let end = durability == .synced ? min(mark.endOffset, mark.durableOffset) : mark.endOffset
                limit = Int(end)
                if Int(end) <= offset { return }
            }
            let file = try openReader(current, covering: limit)
            do {
                offset = try file.readRecords(from: offset, limit: limit) { record in
                    if record.isSyncPoint { return }
                    try take(record, path: file.path, into: &out)
                    if out.count >= maxBatches { throw Stop(offset: record.offset + LogRecord.headerSize
                                                                + record.payload.count) }
                }
            } catch let stop as Stop {
                offset = stop.offset
                return
            }
            if live { return }
            guard let next = try logNumbers().first(where: { $0 > current }) else { return }
            log = next
            offset = 0
            reader = nil
        }
    }

    private func take(_ record: LogReader.Record, path: String, into out: inout [CommittedBatch]) throws {
        var lookupFailed = false
        var batch: CommittedBatch
        do {
            batch = try ChangeDecoding.decode(record.payload, path: path, recordOffset: record.offset) { keyspaces[$0] }
        } catch DBError.unknownKeyspace {
            lookupFailed = true
            batch = CommittedBatch(sequence: 0, changes: [])
        }
        if lookupFailed {
            keyspaces = resolveKeyspaces()
            batch = try ChangeDecoding.decode(record.payload, path: path, recordOffset: record.offset) { keyspaces[$0] }
        }
        if let expected = expectedNext, batch.sequence > expected, batch.sequence - 1 > since {
            // Sequences no WAL record holds, which the feed owes: a bulk
            // ingest (its files take a sequence and write no log record).
            // The feed cannot carry them; a replica must bootstrap again
            // from a backup or checkpoint taken after it
            // (docs/REPLICATION.md §Ingest).
            throw IngestGap(error: DBError.changesUnavailable(oldest: batch.sequence - 1))
        }
        if let expected = expectedNext, batch.sequence < expected {
            throw DBError.corruption(path: path, offset: UInt64(record.offset),
                                     reason: "change feed: batch at sequence \(batch.sequence) where \(expected) "
                                         + "was next (an overlap between WAL records)")
        }
        expectedNext = batch.lastSequence + 1
        if batch.sequence > since { out.append(batch) }
    }

    private func openReader(_ number: UInt64, covering limit: Int?) throws -> LogReader {
        if let reader, let limit, limit <= reader.sizeBytes { return reader }
        if let reader, limit == nil, !readerOpenedLive { return reader }
        let path = FileNames.log(dbPath, number)
        guard FileSystem.exists(path) else { throw try unavailable() }
        let opened = try LogReader(path: path, backend: backend)
        reader = opened
        readerOpenedLive = limit != nil
        return opened
    }

    /// Log file numbers in the directory, ascending.
    private func logNumbers() throws -> [UInt64] {
        let names: [String]
        do { names = try FileSystem.listDirectory(dbPath) } catch { throw DBError.io(error) }
        return names.compactMap { FileNames.parse($0) }.filter { $0.kind == .log }.map(\.number).sorted()
    }

    /// The first batch sequence in log `number` (nil when it holds none
    /// yet); for the live log only below its published end.
    private func firstSequence(of number: UInt64, mark: FeedNotifier.Watermark) throws -> UInt64? {
        if let known = firstSequences[number] { return known }
        var limit: Int?
        if number == mark.log {
            if mark.endOffset == 0 { return nil }
            limit = Int(mark.endOffset)
        }
        let path = FileNames.log(dbPath, number)
        let file = try LogReader(path: path, backend: backend)
        var first: UInt64?
        var at = 0
        do {
            _ = try file.readRecords(from: 0, limit: limit) { record in
                if record.isSyncPoint || record.payload.count < 8 { return }
                first = UInt64(littleEndian: record.payload.loadUnaligned(as: UInt64.self))
                at = record.offset
                throw Stop(offset: 0)
            }
        } catch is Stop {}
        // The callers subtract one from it: 0 (or past 56 bits) is damage.
        if let first, first == 0 || first > InternalKey.maxSequenceNumber {
            throw DBError.corruption(path: path, offset: UInt64(at + LogRecord.headerSize),
                                     reason: "write batch sequence \(first) lies outside "
                                         + "1...\(InternalKey.maxSequenceNumber)")
        }
        if first != nil || number < mark.log { firstSequences[number] = first }
        return first
    }

    /// Chooses the log and offset to start from, or throws
    /// `changesUnavailable` when the log holding `since + 1` is gone.
    private func locateStart(_ mark: FeedNotifier.Watermark) throws {
        keyspaces = resolveKeyspaces()
        if since >= mark.lastSequence && mark.log != UInt64.max {
            // Nothing after `since` is published yet: it comes after the
            // live log's published end.
            log = mark.log
            offset = Int(mark.endOffset)
            expectedNext = mark.lastSequence + 1
            return
        }
        var chosen: UInt64?
        var oldest: UInt64?
        for number in try logNumbers() where number <= mark.log {
            guard let first = try firstSequence(of: number, mark: mark) else { continue }
            if oldest == nil { oldest = first }
            if first <= since || first - since == 1 { chosen = number }  // first <= since + 1, since may be UInt64.max
        }
        guard let chosen else {
            if let oldest { throw DBError.changesUnavailable(oldest: oldest - 1) }
            if mark.log == UInt64.max {
                // Read-only, no log at all: nothing will come.
                log = nil
                return
            }
            throw DBError.changesUnavailable(oldest: mark.lastSequence)
        }
        log = chosen
        offset = 0
    }

    /// The error for a log deleted under the feed: what is still kept.
    private func unavailable() throws -> DBError {
        for number in try logNumbers() {
            if number <= mark.log, let first = try? firstSequence(of: number, mark: mark) {
                return DBError.changesUnavailable(oldest: first - 1)
            }
        }
        return DBError.changesUnavailable(oldest: since)
    }
}
