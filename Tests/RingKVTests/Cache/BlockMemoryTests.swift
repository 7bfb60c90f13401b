import Glibc
import Testing
@testable import RingKV

/// `BlockMemory`: every allocation holds what was asked, a freed slot is
/// what the next request of its class gets on any thread, and slabs grow
/// only with the blocks held at once. The slab test counts the slabs of
/// one size class that nothing else uses (30,208-byte blocks), not all
/// slabs: other tests map slabs of other classes meanwhile (counting all
/// made this suite fail 3 runs in 4). Serialized as well, for the same
/// reason within the suite.
@Suite(.serialized) struct BlockMemoryTests {
    @Test func everyAllocationHoldsWhatWasAsked() {
        for minimum in [0, 1, 511, 512, 513, 4096, 5000, BlockMemory.maxSlotBytes, BlockMemory.maxSlotBytes + 1] {
            let allocation = BlockMemory.allocate(minimumBytes: minimum)
            #expect(allocation.capacity >= max(minimum, 1))
            #expect(allocation.isSlot == (minimum <= BlockMemory.maxSlotBytes))
            #expect(Int(bitPattern: allocation.pointer) % BlockMemory.alignment == 0)
            memset(allocation.pointer, 0x5A, allocation.capacity)  // all of it is writable (ASan checks it)
            let found = BlockMemory.allocation(at: allocation.pointer, minimumBytes: minimum)
            #expect(found.capacity == allocation.capacity && found.isSlot == allocation.isSlot)
            BlockMemory.free(allocation)
        }
    }

    @Test func aSlotFreedOnOneThreadServesTheNextRequestOnAnother() async {
        // A size class of its own (61 × 512 + 1 ... 62 × 512), so that no
        // suite running in parallel takes the slot in between.
        let size = 61 * BlockMemory.classBytes + 7
        let first = BlockMemory.allocate(minimumBytes: size)
        let address = Int(bitPattern: first.pointer)
        await Task.detached {
            BlockMemory.free(BlockMemory.allocation(at: UnsafeMutableRawPointer(bitPattern: address)!, minimumBytes: size))
        }.value
        let again = BlockMemory.allocate(minimumBytes: size - 5)
        #expect(Int(bitPattern: again.pointer) == address && again.capacity == first.capacity)
        BlockMemory.free(again)
    }

    @Test func slabsGrowWithTheBlocksHeldNotWithTheBlocksMade() {
        // Class 59 × 512: no other test or engine path uses blocks this size.
        let size = 59 * BlockMemory.classBytes
        let before = BlockMemory.slabCount(servingMinimumBytes: size)
        for _ in 0..<2000 {
            let allocation = BlockMemory.allocate(minimumBytes: size)
            memset(allocation.pointer, 1, size)
            BlockMemory.free(allocation)
        }
        #expect(BlockMemory.slabCount(servingMinimumBytes: size) - before <= 1, "one slab serves them all")
        let held = (0..<20).map { _ in BlockMemory.allocate(minimumBytes: size) }
        let slotsPerSlab = BlockMemory.slabBytes / size
        #expect(BlockMemory.slabCount(servingMinimumBytes: size) - before <= 20 / slotsPerSlab + 1)
        #expect(Set(held.map { Int(bitPattern: $0.pointer) }).count == 20, "held slots are distinct")
        held.forEach(BlockMemory.free)
    }
}
