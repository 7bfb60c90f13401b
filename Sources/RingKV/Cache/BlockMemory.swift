import RingIO

/// Memory of one decoded block (or of a block read about to become one):
/// where it is, how much was allocated, and whether it is a `BlockMemory`
/// slot (given back with `BlockMemory.free`) or a plain allocation.
struct BlockAllocation {
    let pointer: UnsafeMutableRawPointer
    /// Bytes allocated at `pointer` (>= what was asked).
    let capacity: Int
    /// A slot of a `BlockMemory` slab: never passed to `deallocate`.
    let isSlot: Bool

    /// Memory from `UnsafeMutableRawPointer.allocate` of at least `capacity` bytes.
    static func plain(_ pointer: UnsafeMutableRawPointer, capacity: Int) -> BlockAllocation {
        BlockAllocation(pointer: pointer, capacity: capacity, isSlot: false)
    }
}

/// Memory for decoded blocks: slots carved from mapped slabs, one slab per
/// size class, recycled between threads by size class.
///
/// Why not malloc: a block is allocated by the thread that missed the cache
/// and freed by whichever thread's insertion evicted it. glibc gives each
/// thread its own arena and returns a freed chunk to the arena it came
/// from, so under CLOCK eviction every reader's arena grows to its own peak
/// and keeps it: in YCSB C (2 threads, 64 MiB cache) the two readers'
/// 64 MiB arena heaps were both fully resident, peak RSS 123–142 MB against
/// RocksDB's 92–105 MB in the same runs, for ~87 MB in use. Slots are
/// shared: an evicted block's slot is what the next miss takes, on any
/// thread, so block memory stays at the cache's size plus one partly
/// carved slab per class in use.
///
/// Sizes up to `maxSlotBytes` round up to a multiple of `classBytes`;
/// larger blocks (rare: a block holds one entry larger than the block
/// size) are plain allocations. Slabs are never unmapped: the memory is
/// bounded by the most blocks of a class ever held at once.
enum BlockMemory {
    static let classBytes = 512
    static let maxSlotBytes = 32 << 10
    /// Each slab is one mapping (`PageMemory`).
    static let slabBytes = 256 << 10
    static let alignment = 16

    private struct SizeClass {
        var free: [UnsafeMutableRawPointer] = []
        /// The slab being carved: next unused slot and how many are left.
        var next: UnsafeMutableRawPointer?
        var slotsLeft = 0
        var slabs = 0
    }

    private static let classCount = maxSlotBytes / classBytes
    private static let classes = (0...classCount).map { _ in Locked(SizeClass()) }

    /// The size class whose slots serve `minimumBytes` (at least 1 byte),
    /// or nil when that many bytes are a plain allocation.
    private static func classIndex(servingMinimumBytes minimumBytes: Int) -> Int? {
        let wanted = max(minimumBytes, 1)
        return wanted <= maxSlotBytes ? (wanted + classBytes - 1) / classBytes : nil
    }

    /// At least `minimumBytes` bytes, uninitialized.
    static func allocate(minimumBytes: Int) -> BlockAllocation {
        guard let index = classIndex(servingMinimumBytes: minimumBytes) else {
            let wanted = max(minimumBytes, 1)
            return .plain(UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: alignment), capacity: wanted)
        }
        let slotBytes = index * classBytes
        let pointer = classes[index].withLock { sizeClass -> UnsafeMutableRawPointer in
            if let slot = sizeClass.free.popLast() { return slot }
            if sizeClass.slotsLeft == 0 {
                // Assumes: slabBytes >= maxSlotBytes, so every slab holds a slot.
                sizeClass.next = PageMemory.allocate(byteCount: slabBytes, alignment: 4096, zeroed: false)
                sizeClass.slotsLeft = slabBytes / slotBytes
                sizeClass.slabs += 1
            }
            // Assumes: next is set whenever slotsLeft > 0 (set just above).
            let slot = sizeClass.next.unsafelyUnwrapped
            sizeClass.slotsLeft -= 1
            sizeClass.next = slot + slotBytes
            return slot
        }
        return BlockAllocation(pointer: pointer, capacity: slotBytes, isSlot: true)
    }

    /// The allocation `allocate(minimumBytes:)` returned at `pointer`, for a
    /// caller that kept only the pointer and the size it asked for (a
    /// `ReadRequest`'s buffer and length).
    static func allocation(at pointer: UnsafeMutableRawPointer, minimumBytes: Int) -> BlockAllocation {
        guard let index = classIndex(servingMinimumBytes: minimumBytes) else {
            return .plain(pointer, capacity: max(minimumBytes, 1))
        }
        return BlockAllocation(pointer: pointer, capacity: index * classBytes, isSlot: true)
    }

    /// Gives `allocation` back: a slot to its class's free list, plain
    /// memory to malloc.
    static func free(_ allocation: BlockAllocation) {
        guard allocation.isSlot else {
            allocation.pointer.deallocate()
            return
        }
        let index = allocation.capacity / classBytes
        precondition(index * classBytes == allocation.capacity && index >= 1 && index <= classCount,
                     "block slot of \(allocation.capacity) bytes is not a size class")
        classes[index].withLock { $0.free.append(allocation.pointer) }
    }

    /// Slabs mapped so far for the size class that serves `minimumBytes`
    /// (0 for sizes that are plain allocations).
    static func slabCount(servingMinimumBytes minimumBytes: Int) -> Int {
        guard let index = classIndex(servingMinimumBytes: minimumBytes) else { return 0 }
        return classes[index].withLock { $0.slabs }
    }
}
