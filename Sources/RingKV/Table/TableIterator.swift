/// How a table iterator reads the data blocks ahead of its cursor.
enum ReadAhead: Sendable, Equatable {
    /// One block per read (through the cache when it has one).
    case none
    /// User iterators: once the cursor has moved into
    /// `TableIterator.sequentialTrigger` consecutive blocks, a block that is
    /// not cached is read together with the uncached blocks after it, in
    /// one `readBatch`; the window starts at 32 KiB and doubles per refill
    /// up to 256 KiB. Uses the block cache (and fills it when asked).
    case adaptive
    /// Compaction inputs: every read fetches the next 1 MiB of blocks in
    /// one `readBatch` (several requests in flight); never looks in or
    /// fills the block cache, so a compaction does not flush the hot set.
    case compaction
}

/// Walks a whole table in key order: an iterator over the index block picks
/// the data block, which is fetched only when the cursor enters it — from
/// the read-ahead window, else the block cache, else disk. Empty data
/// blocks are skipped.
///
/// Read-ahead keeps the raw bytes of a window of blocks (`AlignedReadResult`)
/// and decodes (CRC check, LZ4) each block only when the cursor reaches
/// it, so a corrupt block ahead of the cursor fails only the read that
/// needs it. The reads are synchronous batches: the `IOBackend` protocol
/// has no submit-now-harvest-later call.
final class TableIterator: InternalIterator {
    /// Consecutive block moves before adaptive read-ahead starts.
    static let sequentialTrigger = 2
    static let adaptiveInitialWindowBytes = 32 << 10
    static let adaptiveMaxWindowBytes = 256 << 10
    static let compactionWindowBytes = 1 << 20
    /// Largest single request of a window (a 1 MiB window is 8 requests).
    static let windowRequestBytes = 128 << 10

    /// Blocks read ahead and not yet reached: `handles[i]` is span i of
    /// `result`, in file order; the window covers file bytes [start, end).
    private struct Window {
        let result: AlignedReadResult
        let handles: [BlockHandle]
        let start: UInt64
        let end: UInt64
        /// Where the next sequential block is expected in `handles`.
        var position: Int
    }

    let reader: TableReader
    let cache: BlockCache?
    let fillCache: Bool
    let readAhead: ReadAhead
    private let index: BlockIterator
    private var data: BlockIterator?
    private var dataHandle: BlockHandle?

    private var window: Window?
    /// Current adaptive window size in bytes.
    private var windowBytes: Int
    /// File offset just past the block loaded last (nil before the first).
    private var lastLoadedEnd: UInt64?
    /// Block loads in a row that each started where the previous ended.
    private var sequentialLoads = 0
    /// Batched reads this iterator issued (tests and stats).
    private(set) var windowReads = 0
    /// Single-block reads this iterator issued.
    private(set) var singleReads = 0

    init(_ reader: TableReader, cache: BlockCache? = nil, fillCache: Bool = true, readAhead: ReadAhead = .adaptive) {
        self.reader = reader
        self.cache = readAhead == .compaction ? nil : cache
        self.fillCache = fillCache
        self.readAhead = readAhead
        self.index = reader.indexBlock.makeIterator()
        self.windowBytes = readAhead == .compaction ? TableIterator.compactionWindowBytes
                                                    : TableIterator.adaptiveInitialWindowBytes
    }

    var isValid: Bool { data?.isValid ?? false }

    var key: UnsafeRawBufferPointer {
        precondition(isValid, "TableIterator.key on an invalid iterator")
        return data!.key
    }

    var value: UnsafeRawBufferPointer {
        precondition(isValid, "TableIterator.value on an invalid iterator")
        return data!.value
    }

    func seekToFirst() throws {
        try index.seekToFirst()
        try loadDataBlock()
        try data?.seekToFirst()
        try skipExhaustedBlocks()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws {
        try index.seek(target)
        try loadDataBlock()
        try data?.seek(target)
        try skipExhaustedBlocks()
    }

    func next() throws {
        precondition(isValid, "TableIterator.next on an invalid iterator")
        try data!.next()
        try skipExhaustedBlocks()
    }

    /// The handle of the data block under the cursor (for tools and tests).
    var currentBlockHandle: BlockHandle? { isValid ? dataHandle : nil }

    // MARK: - Block switching

    /// Points `data` at the block the index cursor names (nil past the end).
    private func loadDataBlock() throws {
        guard index.isValid else {
            data = nil
            dataHandle = nil
            return
        }
        let handle = try reader.decodeIndexValue(index.value)
        if handle == dataHandle, data != nil { return }
        data = nil
        dataHandle = nil
        let block = try fetch(handle)
        data = block.makeIterator()
        dataHandle = handle
    }

    /// The block at `handle`: window, cache, or disk (possibly opening a
    /// new read-ahead window).
    private func fetch(_ handle: BlockHandle) throws -> Block {
        sequentialLoads = lastLoadedEnd == handle.offset ? sequentialLoads + 1 : 0
        lastLoadedEnd = handle.offset + handle.sizeWithTrailer

        if let block = try takeFromWindow(handle) { return block }
        let key = BlockCacheKey(fileNumber: reader.fileNumber, blockOffset: handle.offset)
        if let cache, let hit = cache.lookup(key) { return hit }

        let startsWindow: Bool
        switch readAhead {
        case .none: startsWindow = false
        case .adaptive: startsWindow = sequentialLoads >= TableIterator.sequentialTrigger
        case .compaction: startsWindow = true
        }
        guard startsWindow else {
            singleReads += 1
            let block = try reader.readBlocks([handle])[0]
            if fillCache { cache?.insert(key, block) }
            return block
        }
        return try openWindow(at: handle)
    }

    /// The block from the read-ahead window when the window holds it; drops
    /// the window once the cursor has left the file range it covers.
    private func takeFromWindow(_ handle: BlockHandle) throws -> Block? {
        guard var w = window else { return nil }
        guard handle.offset >= w.start, handle.offset < w.end else {
            window = nil
            return nil
        }
        var slot: Int?
        if w.position < w.handles.count, w.handles[w.position] == handle {
            slot = w.position
        } else {
            // Not the expected next block (a seek inside the window, or a
            // cached block the window skipped): binary search by offset.
            var low = 0, high = w.handles.count
            while low < high {
                let mid = (low + high) / 2
                if w.handles[mid].offset < handle.offset { low = mid + 1 } else { high = mid }
            }
            if low < w.handles.count, w.handles[low] == handle { slot = low }
        }
        guard let slot else { return nil }
        w.position = slot + 1
        window = w
        let block = try reader.decodeBlock(w.result, span: slot)
        if fillCache { cache?.insert(fileNumber: reader.fileNumber, handle: handle, block) }
        return block
    }

    /// Reads `first` and the uncached blocks after it (up to the window
    /// size of file bytes) with one `readBatch`; returns `first`'s block.
    private func openWindow(at first: BlockHandle) throws -> Block {
        var handles = [first]
        var coveredEnd = first.offset + first.sizeWithTrailer
        let limit = first.offset + UInt64(windowBytes)
        // A second cursor over the index walks ahead of the main one.
        let ahead = reader.indexBlock.makeIterator()
        try ahead.seek(index.key)
        if ahead.isValid { try ahead.next() }
        while ahead.isValid {
            let h = try reader.decodeIndexValue(ahead.value)
            let end = h.offset + h.sizeWithTrailer
            guard end <= limit else { break }
            coveredEnd = end
            if let cache, cache.contains(BlockCacheKey(fileNumber: reader.fileNumber, blockOffset: h.offset)) {
                try ahead.next()
                continue
            }
            handles.append(h)
            try ahead.next()
        }
        var plan = AlignedReadPlan(maxRequestBytes: TableIterator.windowRequestBytes)
        for h in handles { _ = try reader.planRead(h, into: &plan) }
        let result = try plan.execute(backend: reader.backend)
        windowReads += 1
        window = Window(result: result, handles: handles, start: first.offset, end: coveredEnd, position: 1)
        if readAhead == .adaptive { windowBytes = min(windowBytes * 2, TableIterator.adaptiveMaxWindowBytes) }
        let block = try reader.decodeBlock(result, span: 0)
        if fillCache { cache?.insert(fileNumber: reader.fileNumber, handle: first, block) }
        return block
    }

    /// While the data cursor is past its block, moves to the next block.
    private func skipExhaustedBlocks() throws {
        while let d = data, !d.isValid {
            try index.next()
            try loadDataBlock()
            try data?.seekToFirst()
        }
    }
}
