import RingIO

/// Runs a `TableBlockWriter` on a thread of its own, so that a table's
/// data blocks are compressed, checksummed and written while the caller
/// builds the next ones (`TableBuilderOptions.pipelined`, used by
/// `TableFileWriter`; docs/INGEST.md §Pipelined writer).
///
/// Data flows: the caller's `submit` gathers finished blocks (with the
/// separator of the block before each) into a batch of `batchBlocks`;
/// a full batch is handed over through a queue of at most `queuedBatches`
/// batches (the caller waits while it is full: memory stays bounded,
/// about `queuedBatches × batchBlocks` blocks). The worker takes batches
/// in order, feeds each block's keys to the table's bloom and prefix
/// filters (`BlockFilterFeed`) and writes the blocks. `finish` hands over
/// the last batch, waits for the worker to end and gives the block writer
/// and the filters back to the caller's thread for the index and meta
/// blocks.
///
/// Errors: the first error of the worker is kept; the worker then drops
/// every later batch. The caller learns of it at its next `submit` (or
/// sooner through `hasFailed`, which `TableBuilder.add` checks on every
/// entry), at `finish`, never later, and it is never lost: `finish`
/// throws it.
final class BlockPipeline: @unchecked Sendable {
    // @unchecked Sendable: `queue`, `closing`, `dropping` and `failure`
    // are touched only with `monitor` held; `failed` is an atomic word;
    // `blockWriter` and `feed` are used by the worker alone from `init` until the
    // worker ends and by the caller alone after `BackgroundThread.join`
    // (pthread_join orders the two); `batch` and `thread` are the
    // caller's alone (the one thread that uses the builder).

    /// One data block and the separator of the block written before it.
    struct Item {
        var contents: [UInt8]
        var separatorOfPrevious: [UInt8]?
    }

    static let batchBlocks = 16
    static let queuedBatches = 8

    private let blockWriter: TableBlockWriter
    private var feed: BlockFilterFeed
    private let monitor = Monitor()
    /// Signalled when a batch is queued or the pipeline closes.
    private let workReady = Monitor.Condition()
    /// Signalled when the worker takes a batch or fails.
    private let roomReady = Monitor.Condition()
    private var queue: [[Item]] = []
    private var closing = false
    /// Set by `abandon`: the worker writes nothing more.
    private var dropping = false
    private var failure: DBError?
    /// 1 once `failure` is set (read without the lock on every entry).
    private let failed = WaitWord(0)
    private var batch: [Item] = []
    private var thread: BackgroundThread?
    private var ended = false

    init(blockWriter: TableBlockWriter, filters: consuming BlockFilterFeed, name: String = "ringkv-tablewr") {
        self.blockWriter = blockWriter
        feed = filters
        batch.reserveCapacity(BlockPipeline.batchBlocks)
        thread = BackgroundThread(name: name) { [self] in work() }
    }

    /// Whether the worker has failed (its error is thrown by the next
    /// `submit` or `finish`).
    @inline(__always) var hasFailed: Bool { failed.load() != 0 }

    /// The worker's error, when it failed.
    var failureError: DBError? { monitor.withLock { failure } }

    /// Queues one block. Throws the worker's error when it has failed.
    func submit(_ item: Item) throws(DBError) {
        batch.append(item)
        if batch.count >= BlockPipeline.batchBlocks { try handOver() }
    }

    private func handOver() throws(DBError) {
        let full = batch
        batch = []
        batch.reserveCapacity(BlockPipeline.batchBlocks)
        monitor.lock()
        while queue.count >= BlockPipeline.queuedBatches && failure == nil { roomReady.wait(monitor) }
        if let failure {
            monitor.unlock()
            throw failure
        }
        queue.append(full)
        workReady.signal()
        monitor.unlock()
    }

    /// What `finish` gives back to the caller's thread.
    struct Output {
        let blockWriter: TableBlockWriter
        let bloom: BloomFilterBuilder?
        let prefix: PrefixFilterBuilder?
    }

    /// Hands over what is left, waits for the worker to write it, and
    /// returns the block writer and the filters (now the caller's). Throws
    /// the worker's error, if any.
    func finish() throws(DBError) -> Output {
        precondition(!ended, "BlockPipeline.finish after finish() or abandon()")
        if !batch.isEmpty { try? handOver() }
        end(dropping: false)
        if let failure = monitor.withLock({ failure }) { throw failure }
        let filters = feed.take()
        guard !filters.broken else {
            throw DBError.internalError("a data block of \(blockWriter.writer.file.path) did not parse for its filter")
        }
        return Output(blockWriter: blockWriter, bloom: filters.bloom, prefix: filters.prefix)
    }

    /// Stops the worker; what was not written yet never is.
    func abandon() {
        if !ended { end(dropping: true) }
    }

    private func end(dropping drop: Bool) {
        ended = true
        monitor.withLock {
            closing = true
            if drop {
                dropping = true
                queue.removeAll()
            }
            workReady.signal()
        }
        thread?.join()
        thread = nil
    }

    private func work() {
        while true {
            monitor.lock()
            while queue.isEmpty && !closing { workReady.wait(monitor) }
            if queue.isEmpty {
                monitor.unlock()
                return
            }
            let next = queue.removeFirst()
            let skip = failure != nil || dropping
            roomReady.signal()
            monitor.unlock()
            if skip { continue }
            do throws(DBError) {
                for item in next {
                    try item.contents.withBytes { (raw) throws(DBError) in
                        feed.add(block: raw)
                        try blockWriter.writeDataBlock(raw, separatorOfPrevious: item.separatorOfPrevious)
                    }
                }
            } catch {
                monitor.withLock {
                    failure = error
                    failed.store(1)
                    roomReady.signal()
                }
            }
        }
    }
}
