#if canImport(Glibc)
import Glibc
#endif

/// Page-aligned memory for O_DIRECT and registered (fixed) io_uring buffers
/// (`PageMemory`: large ones are mapped, so freeing returns them to the
/// kernel). Single owner: the memory is freed exactly once, in `deinit`.
public struct AlignedBuffer: ~Copyable, @unchecked Sendable {
    // @unchecked Sendable: the buffer owns its memory alone (~Copyable), so a
    // transfer moves ownership; nobody else holds the pointer after a move.
    public static let alignment = 4096

    public let pointer: UnsafeMutableRawPointer
    public let capacity: Int

    /// Allocates `capacity` bytes rounded up to the alignment, zero-filled.
    public init(capacity: Int) {
        precondition(capacity >= 0, "AlignedBuffer capacity must be non-negative")
        let rounded = AlignedBuffer.roundUp(Swift.max(capacity, 1))
        pointer = PageMemory.allocate(byteCount: rounded, alignment: AlignedBuffer.alignment, zeroed: true)
        self.capacity = rounded
    }

    /// `capacity` bytes rounded up to the alignment, NOT zero-filled: for
    /// read targets, whose bytes are looked at only where a read returned
    /// them (zeroing a batch's buffer cost as much as copying it).
    public init(uninitializedCapacity capacity: Int) {
        precondition(capacity >= 0, "AlignedBuffer capacity must be non-negative")
        let rounded = AlignedBuffer.roundUp(Swift.max(capacity, 1))
        pointer = PageMemory.allocate(byteCount: rounded, alignment: AlignedBuffer.alignment, zeroed: false)
        self.capacity = rounded
    }

    deinit { PageMemory.free(pointer, byteCount: capacity) }

    /// Gives the memory up without freeing it: for a buffer the kernel may
    /// still read or write (a ring failed with I/O in flight). It stays
    /// allocated for the process's life, recorded in `Quarantine`.
    public consuming func quarantine() {
        Quarantine.keep(address: pointer, bytes: capacity)
        discard self
    }

    public var bytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: pointer, count: capacity)
    }

    /// Rounds `n` up to a multiple of `alignment` (a power of two).
    @inline(__always)
    public static func roundUp(_ n: Int, to alignment: Int = AlignedBuffer.alignment) -> Int {
        (n + alignment - 1) & ~(alignment - 1)
    }

    @inline(__always)
    public static func roundDown(_ n: Int, to alignment: Int = AlignedBuffer.alignment) -> Int {
        n & ~(alignment - 1)
    }
}

/// An `AlignedBuffer` behind a class reference, for reads that outlive the
/// call that started them: `PendingReads` holds one reference until the
/// kernel is done with every request into it, the results another, and
/// the memory is freed when the last one goes.
public final class SharedAlignedBuffer: @unchecked Sendable {
    // @unchecked Sendable: the memory is written only by the reads of the
    // one PendingReads (or readBatch) it was handed to, and read after
    // those completed, by the thread that harvested them.
    private let storage: AlignedBuffer

    /// Not zero-filled (read targets only: see `AlignedBuffer(uninitializedCapacity:)`).
    public init(capacity: Int) { storage = AlignedBuffer(uninitializedCapacity: capacity) }

    public var pointer: UnsafeMutableRawPointer { storage.pointer }
    public var capacity: Int { storage.capacity }

    /// Whether [start, start + length) lies inside the buffer.
    public func contains(_ start: UnsafeMutableRawPointer, length: Int) -> Bool {
        length >= 0 && start >= pointer && start + length <= pointer + capacity
    }
}
