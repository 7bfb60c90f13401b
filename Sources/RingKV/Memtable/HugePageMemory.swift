#if canImport(Glibc)
import Glibc
#endif

/// 2 MiB blocks backed by transparent huge pages, for a large memtable's
/// skiplist nodes (Arena.swift). A search visits ~20 nodes spread over the
/// node arena; with 4 KiB pages each visit past the TLB's reach costs a
/// page walk besides the cache miss. Four keyspaces each filling a 64 MiB
/// memtable hold four node arenas (~5 MB each at 1 KiB values), more than
/// the TLB covers, and their inserts measured ~1.8× the time of one
/// keyspace's (perf, 1M × 1000 B loads, docs/KEYSPACES.md §Speed).
///
/// A block is an anonymous mapping aligned to 2 MiB (the kernel can back
/// it with one huge page) marked `MADV_HUGEPAGE`, so it works when the
/// system's THP mode is `madvise` as well as `always`; where the kernel
/// gives no huge page it is ordinary memory. Freed with `munmap`.
enum HugePageMemory {
    static let blockBytes = 2 << 20

    /// A zero-filled, 2 MiB-aligned block of `blockBytes`, or nil when no
    /// mapping is to be had (the caller falls back to ordinary memory).
    static func allocateBlock() -> UnsafeMutableRawPointer? {
        // Map twice the size and trim to an aligned block inside it.
        let span = 2 * blockBytes
        guard let raw = mmap(nil, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { return nil }
        let start = UInt(bitPattern: raw)
        let aligned = (start + UInt(blockBytes - 1)) & ~UInt(blockBytes - 1)
        let head = Int(aligned - start)
        if head > 0 { munmap(raw, head) }
        let tail = span - head - blockBytes
        if tail > 0 { munmap(raw + head + blockBytes, tail) }
        let block = raw + head
        _ = madvise(block, blockBytes, MADV_HUGEPAGE)
        return block
    }

    static func freeBlock(_ block: UnsafeMutableRawPointer) {
        munmap(block, blockBytes)
    }
}
