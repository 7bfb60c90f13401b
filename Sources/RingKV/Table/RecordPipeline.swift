import RingIO

/// Runs a `TableBuilder` on a thread of its own for `TableFileWriter`
/// (docs/INGEST.md §Pipelined writer): the caller's thread only checks
/// the key order and copies each record into a chunk; the worker builds
/// the data blocks, the bloom and prefix filters, the index, compresses,
/// checksums and writes. The two threads' shares of a bulk write are then
/// about even (callgrind, kvbench --workload ingest: the caller's thread
/// spent ~1,080 instructions per record when it built the blocks and
/// filters itself, ~1.5× the writer thread's).
///
/// Data flows: `add` appends `[u32 key count][u32 value count][internal
/// key: user key + trailer][value]` (native byte order, unaligned) to the current chunk
/// (`chunkBytes`, or one record when larger); a full chunk is handed over
/// through a queue of at most `queuedChunks` chunks (the caller waits
/// while it is full: memory stays bounded, ~1.25 MiB), and the worker's
/// emptied chunks come back through a free list, so no chunk is
/// allocated after the first few. The worker adds the records in order
/// with `TableBuilder.addCheckedPut` (the caller has checked them).
/// `finish` hands over the last chunk, waits for the worker to end and
/// gives the builder back to the caller's thread for `TableBuilder.finish`.
///
/// Errors: the worker keeps its first error and drops every later chunk.
/// The caller learns of it at its next hand-over (within `chunkBytes` of
/// records), or at `finish`, never later, and it is never lost.
final class RecordPipeline: @unchecked Sendable {
    // @unchecked Sendable: `queue`, `free`, `closing`, `dropping` and
    // `failure` are touched only with `monitor` held; `builder` is used by
    // the worker alone from `init` until the worker ends and by the caller
    // alone after `BackgroundThread.join` (pthread_join orders the two);
    // `current`, `thread` and `ended` are the caller's alone (the one
    // thread that uses the writer). A chunk's bytes belong to the caller
    // until queued, to the worker until it puts the chunk on the free
    // list; the monitor orders each hand-over.

    /// Records, back to back, in `count` of `capacity` bytes at `base`.
    struct Chunk {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var count = 0
    }

    static let chunkBytes = 256 * 1024
    static let queuedChunks = 4
    /// Two u32 counts before each record's bytes.
    static let recordHeaderBytes = 8

    private let builder: TableBuilder
    private let monitor = Monitor()
    /// Signalled when a chunk is queued or the pipeline closes.
    private let workReady = Monitor.Condition()
    /// Signalled when the worker takes a chunk or fails.
    private let roomReady = Monitor.Condition()
    private var queue: [Chunk] = []
    /// Emptied chunks of `chunkBytes` for the caller to fill again.
    private var free: [Chunk] = []
    private var closing = false
    /// Set by `abandon`: the worker adds nothing more.
    private var dropping = false
    private var failure: DBError?
    private var current: Chunk
    private var thread: BackgroundThread?
    private var ended = false

    /// - Throws: `DBError.io` when the worker thread cannot start.
    init(builder: TableBuilder, name: String = "ringkv-tablewr") throws(DBError) {
        self.builder = builder
        current = Self.makeChunk(Self.chunkBytes)
        savedKey = UnsafeMutableRawPointer.allocate(byteCount: savedKeyCapacity, alignment: 16)
        thread = try BackgroundThread(name: name) { [self] in work() }
    }

    deinit {
        // `end` has joined the worker; every chunk is back with us.
        current.base.deallocate()
        savedKey.deallocate()
        for chunk in queue { chunk.base.deallocate() }
        for chunk in free { chunk.base.deallocate() }
    }

    private static func makeChunk(_ capacity: Int) -> Chunk {
        Chunk(base: UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16), capacity: capacity)
    }

    /// The user key of the record queued last (empty before the first):
    /// in the current chunk, or in `savedKey` once its chunk was handed
    /// over. Valid until the next `add`.
    var lastUserKey: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: lastKeyBase, count: lastKeyCount) }
    private var lastKeyBase: UnsafeRawPointer?
    private var lastKeyCount = 0
    /// A copy of the last user key of a chunk handed over.
    private var savedKey: UnsafeMutableRawPointer
    private var savedKeyCapacity = 256

    /// Queues one record: `userKey` (checked by the caller to sort after
    /// the previous one) with `trailer` (little-endian), and `value`.
    /// Throws the worker's error when a hand-over finds it has failed.
    @inline(__always)
    func add(userKey: UnsafeRawBufferPointer, trailer: UInt64, _ value: UnsafeRawBufferPointer) throws(DBError) {
        let keyCount = userKey.count + InternalKey.trailerSize
        let need = Self.recordHeaderBytes + keyCount + value.count
        if current.count + need > current.capacity { try handOver(needing: need) }
        let at = current.base + current.count
        at.storeBytes(of: UInt32(truncatingIfNeeded: keyCount), as: UInt32.self)
        at.storeBytes(of: UInt32(truncatingIfNeeded: value.count), toByteOffset: 4, as: UInt32.self)
        let key = at + Self.recordHeaderBytes
        if let source = userKey.baseAddress, userKey.count > 0 { key.copyMemory(from: source, byteCount: userKey.count) }
        key.storeBytes(of: trailer, toByteOffset: userKey.count, as: UInt64.self)
        if let source = value.baseAddress, value.count > 0 {
            (key + keyCount).copyMemory(from: source, byteCount: value.count)
        }
        current.count += need
        lastKeyBase = UnsafeRawPointer(key)
        lastKeyCount = userKey.count
    }

    /// Queues the current chunk (when it holds anything) and takes an
    /// empty one with room for `need` bytes.
    private func handOver(needing need: Int) throws(DBError) {
        if current.count > 0 {
            // The chunk leaves: keep its last key for the next order check.
            if lastKeyCount > savedKeyCapacity {
                savedKey.deallocate()
                savedKeyCapacity = max(lastKeyCount, savedKeyCapacity * 2)
                savedKey = UnsafeMutableRawPointer.allocate(byteCount: savedKeyCapacity, alignment: 16)
            }
            if let lastKeyBase, lastKeyCount > 0 { savedKey.copyMemory(from: lastKeyBase, byteCount: lastKeyCount) }
            lastKeyBase = UnsafeRawPointer(savedKey)
            monitor.lock()
            while queue.count >= RecordPipeline.queuedChunks && failure == nil { roomReady.wait(monitor) }
            if let failure {
                monitor.unlock()
                throw failure
            }
            queue.append(current)
            workReady.signal()
            let next = free.popLast()
            monitor.unlock()
            current = next ?? Self.makeChunk(Self.chunkBytes)
            current.count = 0
        }
        if need > current.capacity {
            // A record larger than a chunk gets a chunk of its own (the
            // worker frees it rather than keeping it).
            if current.capacity == Self.chunkBytes {
                let chunk = current
                monitor.withLock { free.append(chunk) }
            } else {
                current.base.deallocate()
            }
            current = Self.makeChunk(need)
        }
    }

    /// Hands over what is left, waits for the worker to add it, and
    /// returns the builder (now the caller's). Throws the worker's error,
    /// if any.
    func finish() throws(DBError) -> TableBuilder {
        precondition(!ended, "RecordPipeline.finish after finish() or abandon()")
        if current.count > 0 { try? handOver(needing: 0) }
        end(dropping: false)
        if let failure = monitor.withLock({ failure }) { throw failure }
        return builder
    }

    /// Stops the worker; what it has not added yet never is. The builder
    /// is the caller's again.
    func abandon() -> TableBuilder {
        if !ended { end(dropping: true) }
        return builder
    }

    private func end(dropping drop: Bool) {
        ended = true
        monitor.withLock {
            closing = true
            if drop {
                dropping = true
                free.append(contentsOf: queue)
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
            let chunk = queue.removeFirst()
            let skip = failure != nil || dropping
            roomReady.signal()
            monitor.unlock()
            var error: DBError?
            if !skip {
                do throws(DBError) { try addRecords(of: chunk) } catch let thrown { error = thrown }
            }
            monitor.withLock {
                if chunk.capacity == RecordPipeline.chunkBytes {
                    free.append(chunk)
                } else {
                    chunk.base.deallocate()  // a one-record chunk of a large record
                }
                if let error, failure == nil {
                    failure = error
                    roomReady.signal()
                }
            }
        }
    }

    /// The worker's part: every record of `chunk`, in order.
    private func addRecords(of chunk: Chunk) throws(DBError) {
        var at = 0
        while at < chunk.count {
            let record = chunk.base + at
            let keyCount = Int(record.loadUnaligned(as: UInt32.self))
            let valueCount = Int(record.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let key = UnsafeRawBufferPointer(start: record + Self.recordHeaderBytes, count: keyCount)
            let value = UnsafeRawBufferPointer(start: record + Self.recordHeaderBytes + keyCount, count: valueCount)
            try builder.addCheckedPut(key, value)
            at += Self.recordHeaderBytes + keyCount + valueCount
        }
    }
}
