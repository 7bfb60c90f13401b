import Testing
@testable import RingKV

@Suite struct ArenaTests {
    @Test func allocationsAreAlignedAndDisjoint() {
        let arena = Arena(blockSizeBytes: 4096)
        var ranges: [(start: UInt, end: UInt)] = []
        for i in 0..<2000 {
            let size = 1 + (i * 37) % 700
            let alignment = [8, 16, 64][i % 3]
            let p = arena.allocate(byteCount: size, alignment: alignment)
            #expect(UInt(bitPattern: p) % UInt(alignment) == 0)
            ranges.append((UInt(bitPattern: p), UInt(bitPattern: p) + UInt(size)))
        }
        ranges.sort { $0.start < $1.start }
        for i in 1..<ranges.count {
            #expect(ranges[i - 1].end <= ranges[i].start, "allocations \(i - 1) and \(i) overlap")
        }
    }

    @Test func memoryNeverMovesWhileTheArenaGrows() {
        let arena = Arena(blockSizeBytes: 4096)
        var written: [(UnsafeMutableRawPointer, UInt8, Int)] = []
        for i in 0..<5000 {
            let size = 1 + (i * 131) % 3000  // some exceed a quarter block
            let p = arena.allocate(byteCount: size)
            let pattern = UInt8(truncatingIfNeeded: i)
            p.initializeMemory(as: UInt8.self, repeating: pattern, count: size)
            written.append((p, pattern, size))
        }
        for (p, pattern, size) in written {
            let bytes = UnsafeRawBufferPointer(start: p, count: size)
            #expect(bytes.allSatisfy { $0 == pattern })
        }
    }

    @Test func bigRequestGetsItsOwnBlockAndSmallOnesKeepTheCurrentBlock() {
        let arena = Arena(blockSizeBytes: 4096)
        let small1 = arena.allocate(byteCount: 100)
        #expect(arena.memoryUsageBytes == 4096)
        _ = arena.allocate(byteCount: 10_000)
        #expect(arena.memoryUsageBytes == 4096 + 10_000)
        let small2 = arena.allocate(byteCount: 100)
        // Still served from the first block, right after the first request.
        #expect(small2 - small1 == 104)
        #expect(arena.memoryUsageBytes == 4096 + 10_000)
    }
}
