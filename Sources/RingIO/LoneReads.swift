#if canImport(Glibc)
import Glibc
#endif

/// The bookkeeping of `AsyncReadRing.readLone`: one read per record in a
/// table that only grows, records reused through a free list, a FIFO of
/// the reads waiting to be prepared linked through the records — so a
/// lone read allocates nothing of its own (no batch object, no transfer
/// or request arrays), and a cancelled one leaves the FIFO in O(1).
/// Not thread-safe: the ring keeps it in its locked state.
struct LoneReadTable {
    enum Phase { case free, reserved, waiting, inFlight }

    struct Record {
        var phase = Phase.free
        /// Bumped when the record is freed, so a stale cancellation (of a
        /// read that finished, its record reused) is recognised.
        var generation: UInt32 = 0
        var continuation: UnsafeContinuation<LoneOutcome, Never>?
        var fd: Int32 = -1
        var offset: UInt64 = 0
        var length = 0
        var done = 0
        /// Where the bytes go: the caller's memory, or the pool slot given
        /// when the read is first prepared.
        var buffer: UnsafeMutableRawPointer?
        var poolSlot: Int32 = -1
        /// Some SQE was prepared: it can no longer be cancelled.
        var started = false
        var error: IOError?
        var next: Int32 = -1
        var previous: Int32 = -1
    }

    private(set) var records: [Record] = []
    private var freeList: [Int32] = []
    private(set) var waitingHead: Int32 = -1
    private var waitingTail: Int32 = -1
    private(set) var waitingCount = 0
    /// Records not free.
    private(set) var liveCount = 0

    subscript(index: Int32) -> Record {
        get { records[Int(index)] }
        _modify { yield &records[Int(index)] }
    }

    func contains(_ index: Int) -> Bool { index >= 0 && index < records.count }

    /// A record for a new read, `reserved` (not yet waiting).
    mutating func reserve(fd: Int32, offset: UInt64, length: Int, buffer: UnsafeMutableRawPointer?) -> Int32 {
        let index: Int32
        if let reused = freeList.popLast() {
            index = reused
        } else {
            index = Int32(records.count)
            records.append(Record())
        }
        let generation = records[Int(index)].generation
        liveCount += 1
        records[Int(index)] = Record(phase: .reserved, generation: generation, fd: fd, offset: offset,
                                     length: length, buffer: buffer)
        return index
    }

    /// Frees `index` (its read finished, was cancelled or never queued).
    mutating func release(_ index: Int32) {
        let generation = records[Int(index)].generation &+ 1
        liveCount -= 1
        records[Int(index)] = Record(phase: .free, generation: generation)
        freeList.append(index)
    }

    mutating func pushWaiting(_ index: Int32) {
        records[Int(index)].phase = .waiting
        records[Int(index)].previous = waitingTail
        records[Int(index)].next = -1
        if waitingTail >= 0 { records[Int(waitingTail)].next = index } else { waitingHead = index }
        waitingTail = index
        waitingCount += 1
    }

    /// Unlinks `index`, which is waiting.
    mutating func removeWaiting(_ index: Int32) {
        let previous = records[Int(index)].previous
        let next = records[Int(index)].next
        if previous >= 0 { records[Int(previous)].next = next } else { waitingHead = next }
        if next >= 0 { records[Int(next)].previous = previous } else { waitingTail = previous }
        records[Int(index)].next = -1
        records[Int(index)].previous = -1
        waitingCount -= 1
    }

    /// Every record in use (the ring failed: all of them end).
    var live: [Int32] {
        records.indices.filter { records[$0].phase != .free }.map { Int32($0) }
    }
}

/// How a lone read ended.
enum LoneOutcome: @unchecked Sendable {
    // @unchecked Sendable: `buffer` points at memory the read filled; the
    // completion side hands it to the one task that owns the read and
    // never touches it again.
    /// Read (`error` nil) or failed with `error`; the bytes are at `buffer`,
    /// in pool slot `poolSlot` (-1: the caller's memory).
    /// The errors are `IOError`s, boxed (`any Error`, one pointer): the
    /// outcome is held in the reading task's async frame, which an
    /// `IOError` inline would make ~100 bytes larger.
    case done(bytesRead: Int, error: (any Error)?, buffer: UnsafeMutableRawPointer?, poolSlot: Int32)
    case cancelled
    case failed(any Error)
}

/// Page-aligned read buffers of `slotBytes` each, allocated once for the
/// ring's life and — when the kernel allows the pinning — registered with
/// it (io_uring_register_buffers), so a read into a slot is a READ_FIXED:
/// no per-read allocation (posix_memalign of a fresh aligned buffer cost
/// ~10% of an async get's CPU, perf) and no per-read pinning of its pages
/// by the kernel (~6%). A slot is taken when its read is first prepared
/// and given back once the task has decoded the bytes. Not thread-safe:
/// the slot stack lives in the ring's locked state; the memory itself is
/// written by the kernel and read by the slot's owner only.
struct ReadBufferPool: @unchecked Sendable {
    // @unchecked Sendable: `base` is immutable; the memory behind it is
    // shared only as described above.
    let base: UnsafeMutableRawPointer
    let slotBytes: Int
    let slotCount: Int
    /// Registered with the ring as buffer index 0.
    var isRegistered = false
    private var freeSlots: [Int32]

    /// `slotCount` slots of `slotBytes` (a multiple of the page size),
    /// mapped now (never unmapped: the ring and its pool live as long as
    /// the process, or leak on purpose when the ring fails).
    init?(slotBytes: Int, slotCount: Int) {
        let total = slotBytes * slotCount
        let raw = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else { return nil }
        base = raw
        self.slotBytes = slotBytes
        self.slotCount = slotCount
        freeSlots = (0..<Int32(slotCount)).reversed()
    }

    var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: slotBytes * slotCount) }

    var hasFreeSlot: Bool { !freeSlots.isEmpty }

    mutating func take() -> Int32? { freeSlots.popLast() }

    mutating func give(_ slot: Int32) { freeSlots.append(slot) }

    func address(of slot: Int32) -> UnsafeMutableRawPointer { base + Int(slot) * slotBytes }
}
