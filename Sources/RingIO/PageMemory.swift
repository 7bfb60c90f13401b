#if canImport(Glibc)
import Glibc
#endif

/// Large, page-aligned allocations straight from the kernel (anonymous
/// `mmap`), returned to it by `munmap` when freed.
///
/// Why not malloc: glibc raises its mmap threshold to the size of the
/// largest block freed so far (up to 32 MiB), so after the first 1 MiB
/// buffer is freed every later one comes from the calling thread's malloc
/// arena — and a flush or compaction thread that frees its read-ahead
/// windows and memtable blocks leaves them there, interleaved with small
/// long-lived allocations, where no other thread can reuse them. Measured
/// (YCSB C right after a 1M × 1000 B load, which compacts while it reads):
/// peak RSS 284 MB with malloc, of which the arenas held ~180 MB free
/// (`malloc_stats`); docs/ARCHITECTURE.md §Memory.
///
/// Freed mappings up to `reusedMaxBytes` are kept for the next allocation
/// of the same size class (at most `reusedLimitBytes` in all) instead of
/// unmapped: a compaction reads its inputs through a fresh 1 MiB window
/// after another, and mapping each one cost an mmap, 256 page faults
/// (zeroing every page) and an munmap per MiB read — 8–10 % of the CPU of
/// `kvctl compact` (perf: exc_page_fault, clear_page_erms, unmap_page_range).
public enum PageMemory {
    /// Allocations at least this large are mapped; smaller ones use malloc
    /// (a system call and page faults per allocation cost more than they
    /// save there).
    public static let mapThresholdBytes = 256 << 10

    /// Whether an allocation of `byteCount` bytes is mapped (`allocate`
    /// and `free` must agree on it).
    @inline(__always)
    public static func isMapped(_ byteCount: Int) -> Bool { byteCount >= mapThresholdBytes }

    /// `byteCount` bytes aligned to `alignment` (at most the page size when
    /// mapped). Mapped memory is zero-filled by the kernel; `zeroed` says
    /// whether the caller needs zeros from the malloc path too.
    public static func allocate(byteCount: Int, alignment: Int, zeroed: Bool) -> UnsafeMutableRawPointer {
        if isMapped(byteCount) {
            let mapped = mappedBytes(byteCount)
            if mapped <= reusedMaxBytes, let kept = reused.withLock({ $0.take(mapped) }) {
                if zeroed { memset(kept, 0, byteCount) }
                return kept
            }
            let raw = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            if let raw, raw != MAP_FAILED { return raw }
            // No mapping to be had (the process's map count or address
            // space is exhausted): malloc, which traps if memory is gone.
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: alignment)
            memset(pointer, 0, byteCount)
            _ = fallbacks.withLock { $0.insert(UInt(bitPattern: pointer)) }
            return pointer
        }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: alignment)
        if zeroed { memset(pointer, 0, byteCount) }
        return pointer
    }

    /// Frees what `allocate(byteCount:…)` returned, with the same count.
    public static func free(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        if isMapped(byteCount) {
            let fellBack = fallbacks.withLock { $0.remove(UInt(bitPattern: pointer)) != nil }
            if !fellBack {
                let mapped = mappedBytes(byteCount)
                guard mapped <= reusedMaxBytes else {
                    munmap(pointer, mapped)
                    return
                }
                // Kept; the oldest kept mappings make room and are unmapped
                // here, outside the lock.
                for old in reused.withLock({ $0.keep(pointer, mapped) }) { munmap(old.pointer, old.length) }
                return
            }
        }
        pointer.deallocate()
    }

    /// Large allocations that malloc served because mmap failed (rare:
    /// looked up only when a large block is freed).
    private static let fallbacks = Locked(Set<UInt>())

    /// Mappings are made in steps of this size, so that buffers of nearly
    /// the same size (read-ahead windows of whole blocks) share a class.
    static let mappingStepBytes = 64 << 10
    /// The largest mapping kept for reuse, and all of them together.
    public static let reusedMaxBytes = 2 << 20
    public static let reusedLimitBytes = 8 << 20

    /// The length actually mapped for `byteCount` bytes.
    @inline(__always)
    static func mappedBytes(_ byteCount: Int) -> Int {
        (byteCount + mappingStepBytes - 1) & ~(mappingStepBytes - 1)
    }

    /// Freed mappings, oldest first, kept for reuse (guarded by its lock).
    /// A new one pushes the oldest out when the total would pass
    /// `reusedLimitBytes`: a pool that refused new mappings once full kept
    /// whatever classes came first (a few 2 MiB and odd-sized buffers) and
    /// then unmapped every 1 MiB compaction window, mapping the next one
    /// afresh — 2,018 mmap/munmap pairs and ~520k page faults, over half
    /// of the CPU of compacting 2 GB (docs/LOG.md, session 11).
    struct Reused {
        struct Entry {
            let pointer: UnsafeMutableRawPointer
            let length: Int
        }
        var entries: [Entry] = []
        var totalBytes = 0

        /// The newest kept mapping of `length` bytes, if any.
        mutating func take(_ length: Int) -> UnsafeMutableRawPointer? {
            guard let i = entries.lastIndex(where: { $0.length == length }) else { return nil }
            totalBytes -= length
            return entries.remove(at: i).pointer
        }

        /// Keeps `pointer` (at most `reusedMaxBytes` long) and returns the
        /// oldest mappings it pushed out, for the caller to unmap.
        mutating func keep(_ pointer: UnsafeMutableRawPointer, _ length: Int) -> [Entry] {
            entries.append(Entry(pointer: pointer, length: length))
            totalBytes += length
            var evicted = 0
            var freed = 0
            while totalBytes - freed > PageMemory.reusedLimitBytes {
                freed += entries[evicted].length
                evicted += 1
            }
            guard evicted > 0 else { return [] }
            let out = Array(entries[..<evicted])
            entries.removeFirst(evicted)
            totalBytes -= freed
            return out
        }
    }
    private static let reused = Locked(Reused())

    /// Bytes of freed mappings kept for reuse (tests).
    static var reusedBytes: Int { reused.withLock { $0.totalBytes } }
}
