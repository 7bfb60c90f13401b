/// How a table iterator reads the data blocks ahead of its cursor.
enum ReadAhead: Sendable, Equatable {
    /// One block per read (through the cache when it has one).
    case none
    /// User iterators: once the cursor has moved into
    /// `TableIterator.sequentialTrigger` consecutive blocks, a block that is
    /// not cached is read together with the uncached blocks after it, in
    /// one `readBatch`; the window starts at 16 KiB and doubles per refill
    /// up to 256 KiB; with prefetch on, from the second window on the next
    /// window is always in flight. Uses the block cache (and fills it when
    /// asked).
    case adaptive
    /// Compaction inputs: every read fetches the next 1 MiB of blocks in
    /// one `readBatch` (several requests in flight), the following 1 MiB
    /// prefetched while it is merged; never looks in or
    /// fills the block cache, so a compaction does not flush the hot set.
    case compaction
}

/// Walks a whole table in key order: an iterator over the index block picks
/// the data block, which is fetched only when the cursor enters it — from
/// the read-ahead window, else the prefetched window, else the block
/// cache, else disk. Empty data
/// blocks are skipped.
///
/// Read-ahead keeps the raw bytes of a window of blocks (`AlignedReadResult`)
/// and decodes (CRC check, LZ4) each block only when the cursor reaches
/// it, so a corrupt block ahead of the cursor fails only the read that
/// needs it.
///
/// Asynchronous prefetch (`prefetch`, on by default; user scans of
/// buffered tables read synchronously, see `init`): whenever a window
/// becomes current, the read of the *next* window (the blocks after it,
/// uncached ones only) is submitted with `IOBackend.submitReads` and left
/// in flight while the caller consumes the current one; the cursor
/// harvests it when it reaches the first block past the current window,
/// and submits the one after. So a sequential scan waits for the disk only
/// when it consumes blocks faster than the disk delivers them. A seek
/// outside both windows drops the prefetch (its handle drains the read; the
/// bytes are never used). An error of a prefetched read surfaces when the
/// cursor reaches a block that read carried, as the iterator's error.
///
/// Both directions: `prev` steps back within the block, then to the
/// previous block. Once the cursor has moved back through
/// `sequentialTrigger` consecutive blocks, a block that is not cached is
/// read together with the uncached blocks before it (a backward window,
/// growing like the forward one; no asynchronous prefetch behind it). Bounds (`IterationBounds`) stop the cursor before it loads
/// a block wholly outside them, judged by the index: block i's separator
/// is >= every key of block i and < every key of block i+1, so when its
/// user key is >= upper, block i+1 and later hold nothing in range, and
/// when block i-1's separator is < lower, block i-1 and earlier do not
/// either. Read-ahead windows end at the same block.
final class TableIterator: InternalIterator {
    /// Consecutive block moves before adaptive read-ahead starts.
    static let sequentialTrigger = 2
    /// Small, and no prefetch behind the first window: most user scans are
    /// short (YCSB E: 1–100 rows), and every byte read ahead past a scan's
    /// end is copied for nothing (see docs/ARCHITECTURE.md §Iteration).
    static let adaptiveInitialWindowBytes = 16 << 10
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

    /// The blocks of a window to read: file bytes [start, end) hold them,
    /// `handles` are the ones not in the cache, in file order.
    private struct WindowPlan {
        var handles: [BlockHandle] = []
        var start: UInt64
        var end: UInt64
    }

    /// The next window, in flight.
    private struct Prefetch {
        let read: PendingAlignedRead
        let plan: WindowPlan
        /// The start of the window that was current at submission: the
        /// prefetch is kept while the cursor stays in [origin, plan.end).
        let origin: UInt64
        /// An index cursor at the first block after this window.
        let ahead: BlockIterator
    }

    let reader: TableReader
    let cache: BlockCache?
    let fillCache: Bool
    let readAhead: ReadAhead
    let bounds: IterationBounds
    /// The table's prefix filter rules out `bounds.filterPrefix`: every
    /// seek leaves the iterator invalid without reading a data block.
    let excludedByPrefixFilter: Bool
    private let index: BlockIterator
    private var data: BlockIterator?
    /// The data iterator `data` uses whenever it is set.
    private var spare: BlockIterator?
    private var dataHandle: BlockHandle?

    private var window: Window?
    private var prefetch: Prefetch?
    /// Submit the next window asynchronously (see the type's comment).
    let prefetchEnabled: Bool
    /// Current adaptive window size in bytes.
    private var windowBytes: Int
    /// File offset just past the block loaded last (nil before the first).
    private var lastLoadedEnd: UInt64?
    /// Block loads in a row that each started where the previous ended.
    private var sequentialLoads = 0
    /// Block loads in a row that each ended where the previous one started
    /// (a backward scan), and the start of the block loaded last.
    private var backwardLoads = 0
    private var lastLoadedStart: UInt64?
    /// Batched reads this iterator issued (tests and stats).
    private(set) var windowReads = 0
    /// Single-block reads this iterator issued.
    private(set) var singleReads = 0
    /// Windows submitted asynchronously, and those the cursor then used.
    private(set) var prefetchReads = 0
    private(set) var prefetchesUsed = 0
    /// Data blocks read from the file (alone, in windows, or prefetched;
    /// not cache hits): what the bounds tests count.
    private(set) var blocksRead = 0
    /// The engine-wide count the same reads are added to (user iterators:
    /// `DBStats.iteratorBlocksRead`).
    private let blocksReadCounter: Counter?
    /// Counts the seeks whose blocks were read in one batch
    /// (`SeekReadBatch`; user iterators: `DBStats.iteratorSeekBatches`).
    private let seekBatchCounter: Counter?
    /// An ingested table's keys with their global sequence (nil: the
    /// stored keys are yielded as they are).
    private let globalKey: GlobalSequenceKey?

    init(_ reader: TableReader, cache: BlockCache? = nil, fillCache: Bool = true, readAhead: ReadAhead = .adaptive,
         prefetch: Bool = true, bounds: IterationBounds = .unbounded, blocksReadCounter: Counter? = nil,
         seekBatchCounter: Counter? = nil) {
        self.reader = reader
        self.globalKey = reader.globalSequence == 0 ? nil : GlobalSequenceKey(sequence: reader.globalSequence)
        self.blocksReadCounter = blocksReadCounter
        self.seekBatchCounter = seekBatchCounter
        self.bounds = bounds
        self.excludedByPrefixFilter = bounds.filterPrefix.map { reader.prefixFilter?.mayContain(prefix: $0) == false }
            ?? false
        self.cache = readAhead == .compaction ? nil : cache
        self.fillCache = fillCache
        self.readAhead = readAhead
        // A user scan of a buffered table reads its windows with pread:
        // io_uring punts a buffered read it cannot finish from the page
        // cache to a worker thread, and short scans paid for it (YCSB E,
        // docs/ARCHITECTURE.md §Iteration).
        // Compaction inputs too, when buffered: POSIX_FADV_WILLNEED on the
        // next window has the kernel read it ahead (`startPrefetch`), which
        // costs no buffer and no io-wq work (docs/ARCHITECTURE.md §Memory).
        // O_DIRECT tables keep the prefetch.
        self.prefetchEnabled = prefetch && readAhead != .none && reader.file.isDirect
        self.index = reader.indexBlock.makeIterator()
        self.windowBytes = readAhead == .compaction ? TableIterator.compactionWindowBytes
                                                    : TableIterator.adaptiveInitialWindowBytes
    }

    var isValid: Bool { data?.isValid ?? false }

    var key: UnsafeRawBufferPointer {
        precondition(isValid, "TableIterator.key on an invalid iterator")
        if let globalKey { return globalKey.bytes }
        return data!.key
    }

    var value: UnsafeRawBufferPointer {
        precondition(isValid, "TableIterator.value on an invalid iterator")
        return data!.value
    }

    func seekToFirst() throws(DBError) {
        guard !excludedByPrefixFilter else { data = nil; return }
        try index.seekToFirst()
        try loadDataBlock()
        try data?.seekToFirst()
        try skipExhaustedBlocks()
        reloadGlobalKey()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(DBError) {
        guard !excludedByPrefixFilter else { data = nil; return }
        try index.seek(target, using: reader.indexSearch)
        try loadDataBlock()
        try data?.seek(target)
        try skipExhaustedBlocks()
        if let globalKey, let data, data.isValid, globalKey.seekMustStep(landedOn: data.key, target: target) {
            try data.next()
            try skipExhaustedBlocks()
        }
        reloadGlobalKey()
    }

    func next() throws(DBError) {
        precondition(isValid, "TableIterator.next on an invalid iterator")
        try data!.next()
        try skipExhaustedBlocks()
        reloadGlobalKey()
    }

    func seekToLast() throws(DBError) {
        guard !excludedByPrefixFilter else { data = nil; return }
        try index.seekToLast()
        try loadDataBlock()
        try data?.seekToLast()
        try skipExhaustedBlocksBackward()
        reloadGlobalKey()
    }

    /// The block `seek(target)` loads, when it would be read from the file:
    /// not cached, not in the read-ahead window (user iterators that fill
    /// their block cache only; `SeekReadBatch`).
    func planSeekRead(_ target: UnsafeRawBufferPointer, into batch: inout SeekReadBatch) throws(DBError) {
        guard !excludedByPrefixFilter, readAhead == .adaptive, fillCache, let cache, let handle = try reader.locate(target) else { return }
        if handle == dataHandle, data != nil { return }
        if let w = window, handle.offset >= w.start, handle.offset < w.end { return }
        if cache.contains(BlockCacheKey(fileNumber: reader.fileNumber, blockOffset: handle.offset)) { return }
        batch.add(reader, handle, cache: cache, counter: blocksReadCounter, batchCounter: seekBatchCounter)
    }

    /// The block whose separator is the first >= `target` holds the last
    /// entry <= `target`, or the block before it does.
    func seekForPrev(_ target: UnsafeRawBufferPointer) throws(DBError) {
        guard !excludedByPrefixFilter else { data = nil; return }
        if globalKey != nil {
            // Stored and yielded keys differ in sequence: the generic
            // seek-then-step on yielded keys.
            try seek(target)
            if !isValid { return try seekToLast() }
            if InternalKey.compare(key, target) > 0 { try prev() }
            return
        }
        try index.seek(target, using: reader.indexSearch)
        guard index.isValid else { return try seekToLast() }
        try loadDataBlock()
        try data?.seekForPrev(target)
        try skipExhaustedBlocksBackward()
        reloadGlobalKey()
    }

    func prev() throws(DBError) {
        precondition(isValid, "TableIterator.prev on an invalid iterator")
        try data!.prev()
        try skipExhaustedBlocksBackward()
        reloadGlobalKey()
    }

    /// Copies the key under the cursor with the global sequence (ingested
    /// tables only).
    @inline(__always)
    private func reloadGlobalKey() {
        if let globalKey, let data, data.isValid { globalKey.load(data.key) }
    }

    /// The handle of the data block under the cursor (for tools and tests).
    var currentBlockHandle: BlockHandle? { isValid ? dataHandle : nil }

    // MARK: - Block switching

    /// Points `data` at the block the index cursor names (nil past the end).
    private func loadDataBlock() throws(DBError) {
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
        // One data iterator for the table iterator's life, moved from
        // block to block (its key buffer is reused).
        if let spare {
            spare.reset(to: block)
            data = spare
        } else {
            let fresh = block.makeIterator()
            spare = fresh
            data = fresh
        }
        dataHandle = handle
    }

    /// The block at `handle`: window, cache, or disk (possibly opening a
    /// new read-ahead window).
    private func fetch(_ handle: BlockHandle) throws(DBError) -> Block {
        sequentialLoads = lastLoadedEnd == handle.offset ? sequentialLoads + 1 : 0
        lastLoadedEnd = handle.offset + handle.sizeWithTrailer
        backwardLoads = lastLoadedStart == handle.offset + handle.sizeWithTrailer ? backwardLoads + 1 : 0
        lastLoadedStart = handle.offset

        if let block = try takeFromWindow(handle) { return block }
        if let block = try takeFromPrefetch(handle) { return block }
        let key = BlockCacheKey(fileNumber: reader.fileNumber, blockOffset: handle.offset)
        if let cache, let hit = cache.lookup(key) { return hit }

        let startsWindow: Bool
        switch readAhead {
        case .none: startsWindow = false
        case .adaptive: startsWindow = sequentialLoads >= TableIterator.sequentialTrigger
                                        || backwardLoads >= TableIterator.sequentialTrigger
        case .compaction: startsWindow = true
        }
        guard startsWindow else {
            singleReads += 1
            countBlocksRead(1)
            let block = try reader.readBlock(handle)
            if fillCache { cache?.insert(key, block) }
            return block
        }
        if readAhead == .adaptive && backwardLoads >= TableIterator.sequentialTrigger {
            return try openBackwardWindow(at: handle)
        }
        return try openWindow(at: handle)
    }

    /// The block from the read-ahead window when the window holds it; drops
    /// the window once the cursor has left the file range it covers.
    private func takeFromWindow(_ handle: BlockHandle) throws(DBError) -> Block? {
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

    /// When `handle` lies in the prefetched window: harvests it (waiting
    /// for the reads if they are still in flight), makes it the current
    /// window, submits the next prefetch, and returns the block (nil when
    /// the block was cached at planning time and so not read). Drops the
    /// prefetch when the cursor left [origin, end).
    private func takeFromPrefetch(_ handle: BlockHandle) throws(DBError) -> Block? {
        guard let p = prefetch else { return nil }
        guard handle.offset >= p.origin, handle.offset < p.plan.end else {
            prefetch = nil  // a seek elsewhere; the handle drains its reads
            return nil
        }
        guard handle.offset >= p.plan.start else { return nil }  // a cached block before it
        prefetch = nil
        let result = try p.read.wait()
        prefetchesUsed += 1
        let w = Window(result: result, handles: p.plan.handles, start: p.plan.start, end: p.plan.end, position: 0)
        window = w
        try startPrefetch(p.ahead, origin: w.start)
        return try takeFromWindow(handle)
    }

    /// Reads `first` and the uncached blocks after it (up to the window
    /// size of file bytes) with one `readBatch`; returns `first`'s block
    /// after submitting the prefetch of the window after it.
    private func openWindow(at first: BlockHandle) throws(DBError) -> Block {
        // A second cursor over the index walks ahead of the main one.
        let ahead = reader.indexBlock.makeIterator()
        try ahead.seek(index.key, using: reader.indexSearch)
        guard let plan = try planWindow(ahead, readFirst: true), plan.handles.first == first else {
            throw DBError.corruption(path: reader.path, offset: first.offset,
                                     reason: "index entry for block \(first) not found again by its own key")
        }
        var readPlan = AlignedReadPlan(maxRequestBytes: TableIterator.windowRequestBytes)
        for h in plan.handles { _ = try reader.planRead(h, into: &readPlan) }
        let result = try readPlan.execute(backend: reader.backend)
        windowReads += 1
        countBlocksRead(plan.handles.count)
        window = Window(result: result, handles: plan.handles, start: plan.start, end: plan.end, position: 1)
        // A user scan prefetches from its second window on: one that ends
        // within its first window never pays for a second.
        if readAhead == .compaction || windowReads >= 2 {
            try startPrefetch(ahead, origin: plan.start)
        } else {
            prefetch = nil
        }
        let block = try reader.decodeBlock(result, span: 0)
        if fillCache { cache?.insert(fileNumber: reader.fileNumber, handle: first, block) }
        return block
    }

    /// A backward scan's window: `last` (the block the cursor enters) and
    /// the uncached blocks before it that start within the window size of
    /// its end, back to the lower bound, read with one `readBatch`. No
    /// prefetch behind it: backward scans are short in practice (the
    /// measurement in docs/ARCHITECTURE.md §Iteration decided the window).
    private func openBackwardWindow(at last: BlockHandle) throws(DBError) -> Block {
        let behind = reader.indexBlock.makeIterator()
        try behind.seek(index.key, using: reader.indexSearch)
        guard behind.isValid, try reader.decodeIndexValue(behind.value) == last else {
            throw DBError.corruption(path: reader.path, offset: last.offset,
                                     reason: "index entry for block \(last) not found again by its own key")
        }
        let end = last.offset + last.sizeWithTrailer
        var handles = [last]
        var start = last.offset
        while true {
            try behind.prev()
            guard behind.isValid, !bounds.isBeforeLower(InternalKey.userKey(behind.key)) else { break }
            let h = try reader.decodeIndexValue(behind.value)
            guard h.offset + UInt64(windowBytes) >= end else { break }
            start = h.offset
            let cached = cache?.contains(BlockCacheKey(fileNumber: reader.fileNumber, blockOffset: h.offset)) ?? false
            if !cached { handles.append(h) }
        }
        handles.reverse()
        windowBytes = min(windowBytes * 2, TableIterator.adaptiveMaxWindowBytes)
        var readPlan = AlignedReadPlan(maxRequestBytes: TableIterator.windowRequestBytes)
        for h in handles { _ = try reader.planRead(h, into: &readPlan) }
        let result = try readPlan.execute(backend: reader.backend)
        windowReads += 1
        countBlocksRead(handles.count)
        prefetch = nil
        window = Window(result: result, handles: handles, start: start, end: end, position: handles.count - 1)
        let block = try reader.decodeBlock(result, span: handles.count - 1)
        if fillCache { cache?.insert(fileNumber: reader.fileNumber, handle: last, block) }
        return block
    }

    /// Submits the read of the window starting at `ahead` (when prefetch is
    /// on and some block of it is not cached) without waiting for it.
    private func startPrefetch(_ ahead: BlockIterator, origin: UInt64) throws(DBError) {
        prefetch = nil
        if readAhead == .compaction && !reader.file.isDirect {
            // A buffered compaction input: the table's descriptor is opened
            // for random access (no kernel read-ahead, TableCache), so the
            // kernel is asked to start reading the next window now; the
            // pread that reaches it then finds its pages cached or in
            // flight, and the merge never waits for a whole window.
            if let plan = try planWindow(ahead, readFirst: false), plan.end > plan.start {
                try? reader.file.advise(.willNeed, offset: plan.start, length: plan.end - plan.start)
            }
            return
        }
        guard prefetchEnabled, let plan = try planWindow(ahead, readFirst: false), !plan.handles.isEmpty else { return }
        var readPlan = AlignedReadPlan(maxRequestBytes: TableIterator.windowRequestBytes)
        for h in plan.handles { _ = try reader.planRead(h, into: &readPlan) }
        let read = try readPlan.submit(backend: reader.backend)
        prefetchReads += 1
        countBlocksRead(plan.handles.count)
        prefetch = Prefetch(read: read, plan: plan, origin: origin, ahead: ahead)
    }

    /// The window that starts at `ahead`'s block: that block and the ones
    /// after it that end within `windowBytes` of its start (the first one
    /// whatever its size), leaving out cached blocks (except the first when
    /// `readFirst`: the caller missed it).
    /// Leaves `ahead` at the first block past the window; nil at the end
    /// of the index. Each plan grows the adaptive window (doubling to its
    /// maximum).
    private func planWindow(_ ahead: BlockIterator, readFirst: Bool) throws(DBError) -> WindowPlan? {
        guard ahead.isValid else { return nil }
        let first = try reader.decodeIndexValue(ahead.value)
        let limit = first.offset + UInt64(windowBytes)
        var plan = WindowPlan(start: first.offset, end: first.offset)
        var isFirst = true
        while ahead.isValid {
            let h = try reader.decodeIndexValue(ahead.value)
            let end = h.offset + h.sizeWithTrailer
            guard isFirst || end <= limit else { break }
            plan.end = end
            let cached = cache?.contains(BlockCacheKey(fileNumber: reader.fileNumber, blockOffset: h.offset)) ?? false
            if (isFirst && readFirst) || !cached { plan.handles.append(h) }
            isFirst = false
            if bounds.isAtOrPastUpper(InternalKey.userKey(ahead.key)) {
                // Later blocks lie wholly at or past the upper bound: no
                // window (nor prefetch after it) reads them.
                ahead.moveToEnd()
                break
            }
            try ahead.next()
        }
        if readAhead == .adaptive { windowBytes = min(windowBytes * 2, TableIterator.adaptiveMaxWindowBytes) }
        return plan
    }

    /// While the data cursor is past its block, moves to the next block;
    /// stops (invalid) instead when the upper bound excludes it.
    private func skipExhaustedBlocks() throws(DBError) {
        while let d = data, !d.isValid {
            if bounds.isAtOrPastUpper(InternalKey.userKey(index.key)) { return stop() }
            try index.next()
            try loadDataBlock()
            try data?.seekToFirst()
        }
    }

    /// While the data cursor is before its block, moves to the previous
    /// block's last entry; stops (invalid) instead when the lower bound
    /// excludes it.
    private func skipExhaustedBlocksBackward() throws(DBError) {
        while let d = data, !d.isValid {
            try index.prev()
            if index.isValid && bounds.isBeforeLower(InternalKey.userKey(index.key)) { return stop() }
            try loadDataBlock()
            try data?.seekToLast()
        }
    }

    private func countBlocksRead(_ count: Int) {
        blocksRead += count
        blocksReadCounter?.add(UInt64(count))
    }

    /// Invalid, with no block loaded.
    private func stop() {
        data = nil
        dataHandle = nil
    }
}
