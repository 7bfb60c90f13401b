import RingIO
import Synchronization

/// Bump allocator over large blocks of raw memory, for the memtable's
/// skiplist nodes. Memory never moves and is only released all at once when
/// the arena dies, so a pointer handed out stays valid for the arena's life —
/// the property lock-free readers of the skiplist rely on.
///
/// Threading: `allocate` is for the single inserter only (the memtable's
/// caller serializes inserts). `memoryUsageBytes` may be read from any thread.
final class Arena {
    /// Size of an ordinary block. A request bigger than a quarter of this gets
    /// a block of its own, so a huge entry wastes at most its own rounding and
    /// the current block's tail is kept for the small entries that follow.
    static let defaultBlockSizeBytes = 1 << 20
    /// Every allocation is aligned to at least this (skiplist next pointers
    /// are 8-byte atomics).
    static let minimumAlignmentBytes = 8

    let blockSizeBytes: Int
    /// Ordinary blocks are huge-page blocks (`HugePageMemory`; only with
    /// `blockSizeBytes` equal to its block size).
    let hugePages: Bool

    // MARK: - Inserter-only state

    /// Every block this arena owns, its size and whether it is a
    /// huge-page block; freed in `deinit`.
    private var blocks: [(pointer: UnsafeMutableRawPointer, byteCount: Int, huge: Bool)] = []
    /// Next free byte of the current block (nil before the first block).
    private var cursor: UnsafeMutableRawPointer?
    private var remainingBytes = 0

    // MARK: - Shared state

    /// Bytes of all blocks reserved so far: the arena's real footprint.
    /// Written by the inserter, read by anyone (relaxed: it is a statistic).
    private let reservedBytes = Atomic<Int>(0)

    init(blockSizeBytes: Int = Arena.defaultBlockSizeBytes, hugePages: Bool = false) {
        precondition(blockSizeBytes >= 64, "arena block size \(blockSizeBytes) is too small")
        self.blockSizeBytes = blockSizeBytes
        self.hugePages = hugePages && blockSizeBytes == HugePageMemory.blockBytes
    }

    deinit {
        for block in blocks {
            if block.huge { HugePageMemory.freeBlock(block.pointer) } else {
                PageMemory.free(block.pointer, byteCount: block.byteCount)
            }
        }
    }

    /// Bytes of raw memory this arena holds (every block it reserved).
    var memoryUsageBytes: Int { reservedBytes.load(ordering: .relaxed) }

    /// `byteCount` bytes aligned to `alignment` (a power of two, at least 8).
    /// The memory is uninitialized and lives until the arena is deinitialized.
    /// Inserter only.
    func allocate(byteCount: Int, alignment: Int = Arena.minimumAlignmentBytes) -> UnsafeMutableRawPointer {
        precondition(byteCount > 0, "arena allocation of \(byteCount) bytes")
        precondition(alignment >= Arena.minimumAlignmentBytes && alignment & (alignment - 1) == 0,
                     "arena alignment \(alignment) is not a power of two >= 8")
        if let cursor {
            let misalignment = Int(UInt(bitPattern: cursor) & UInt(alignment - 1))
            let padding = misalignment == 0 ? 0 : alignment - misalignment
            if padding + byteCount <= remainingBytes {
                let result = cursor + padding
                self.cursor = result + byteCount
                remainingBytes -= padding + byteCount
                return result
            }
        }
        if byteCount > blockSizeBytes / 4 {
            // Big request: a dedicated block; the current block keeps serving
            // small ones.
            return newBlock(byteCount: byteCount, alignment: alignment)
        }
        // The current block's tail is too small: abandon it for a fresh one.
        let block = newBlock(byteCount: blockSizeBytes, alignment: alignment)
        cursor = block + byteCount
        remainingBytes = blockSizeBytes - byteCount
        return block
    }

    private func newBlock(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        // An ordinary block of a huge-page arena: a 2 MiB-aligned mapping
        // (ordinary pages below when none is to be had).
        if hugePages && byteCount == blockSizeBytes && alignment <= byteCount,
           let block = HugePageMemory.allocateBlock() {
            blocks.append((block, byteCount, true))
            reservedBytes.add(byteCount, ordering: .relaxed)
            return block
        }
        // Through `PageMemory`: 1 MiB blocks are mapped, so a flushed
        // memtable's memory goes back to the kernel instead of staying in
        // the malloc arena of the thread that filled it.
        let block = PageMemory.allocate(byteCount: byteCount, alignment: max(alignment, 16), zeroed: false)
        blocks.append((block, byteCount, false))
        reservedBytes.add(byteCount, ordering: .relaxed)
        return block
    }
}
