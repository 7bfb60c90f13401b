import Testing
@testable import RingIO

/// Freed mappings are reused by the next allocation of their size class,
/// up to a bounded total.
@Suite struct PageMemoryReuseTests {
    @Test func aFreedWindowIsTheNextWindowOfItsSizeAndZeroedWhenAsked() {
        // A size class nothing else in the test process uses (1.1875 MiB).
        let size = (1 << 20) + (3 << 16)
        let first = PageMemory.allocate(byteCount: size - 4096, alignment: 4096, zeroed: false)
        first.storeBytes(of: 0xDEAD_BEEF, as: UInt32.self)
        let before = PageMemory.reusedBytes
        PageMemory.free(first, byteCount: size - 4096)
        // Kept unless other tests' frees pushed it out meanwhile.
        let kept = PageMemory.reusedBytes > before
        let second = PageMemory.allocate(byteCount: size, alignment: 4096, zeroed: true)
        if kept { #expect(second == first) }
        #expect(second.load(as: UInt32.self) == 0, "memory asked zeroed is zeroed")
        PageMemory.free(second, byteCount: size)
    }

    @Test func reuseKeepsAtMostTheLimit() {
        let size = 2 << 20
        let count = PageMemory.reusedLimitBytes / size + 4
        let buffers = (0..<count).map { _ in PageMemory.allocate(byteCount: size, alignment: 4096, zeroed: false) }
        for b in buffers { PageMemory.free(b, byteCount: size) }
        #expect(PageMemory.reusedBytes <= PageMemory.reusedLimitBytes)
        // Larger than the largest kept class: never kept.
        let big = PageMemory.allocate(byteCount: 4 << 20, alignment: 4096, zeroed: false)
        let before = PageMemory.reusedBytes
        PageMemory.free(big, byteCount: 4 << 20)
        #expect(PageMemory.reusedBytes == before)
    }

    /// The pool once refused every mapping after it was full, so the
    /// classes freed first (here four 2 MiB buffers) held it for good and
    /// each later 1 MiB window was unmapped and mapped again. Now the
    /// newest mapping stays and the oldest are handed back for unmapping.
    @Test func aFullPoolMakesRoomForTheNewestMapping() throws {
        var pool = PageMemory.Reused()
        let twoMiB = 2 << 20, oneMiB = 1 << 20
        let fake = { (n: Int) in UnsafeMutableRawPointer(bitPattern: n << 21)! }
        for i in 1...(PageMemory.reusedLimitBytes / twoMiB) {
            #expect(pool.keep(fake(i), twoMiB).isEmpty)
        }
        #expect(pool.totalBytes == PageMemory.reusedLimitBytes)
        let window = fake(100)
        let evicted = pool.keep(window, oneMiB)
        #expect(evicted.map(\.pointer) == [fake(1)], "the oldest mapping makes room")
        #expect(pool.totalBytes <= PageMemory.reusedLimitBytes)
        #expect(pool.take(oneMiB) == window, "the next window of its size reuses it")
        #expect(pool.take(oneMiB) == nil)
        // The newest of a class is taken first.
        _ = pool.keep(fake(101), oneMiB)
        _ = pool.keep(fake(102), oneMiB)
        #expect(pool.take(oneMiB) == fake(102))
    }
}
