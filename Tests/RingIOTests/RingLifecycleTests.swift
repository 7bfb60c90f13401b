#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO

@Suite("Ring lifecycle")
struct RingLifecycleTests {
    @Test func ioUringIsUsableOnThisMachine() {
        #expect(Ring.probe() == 0, "io_uring_setup errno \(Ring.probe())")
    }

    @Test(arguments: [(1, 1), (5, 8), (8, 8), (100, 128), (256, 256), (1000, 1024)])
    func entriesAreRoundedUpToAPowerOfTwo(requested: Int, expected: Int) throws {
        let ring = try Ring(entries: requested)
        #expect(ring.sqEntries == expected)
        // The kernel sizes the completion queue at twice the submission queue.
        #expect(ring.cqEntries == 2 * expected)
        #expect(ring.sqSpaceLeft == expected)
        #expect(ring.sqReady == 0)
        #expect(ring.cqReady == 0)
        #expect(ring.ringFD >= 0)
        #expect(!ring.isSQPoll)
    }

    @Test func destroyedRingsReleaseTheirDescriptors() throws {
        // Every Ring closes its fd and unmaps its queues in deinit. Create
        // far more rings than the tests running in parallel could hold: if
        // deinit leaked, hundreds of io_uring descriptors would stay open.
        let before = openIOURingDescriptors()
        for _ in 0..<300 {
            let ring = try Ring(entries: 64)
            #expect(ring.ringFD >= 0)
        }
        // Against the count before: tests running beside this one open and
        // close databases (and their rings) meanwhile.
        #expect(openIOURingDescriptors() - before < 100)
    }

    /// Counts this process's descriptors that are io_uring instances.
    private func openIOURingDescriptors() -> Int {
        let names = (try? FileSystem.listDirectory("/proc/self/fd")) ?? []
        var count = 0
        var target = [CChar](repeating: 0, count: 256)
        for name in names {
            let n = readlink("/proc/self/fd/" + name, &target, target.count - 1)
            if n > 0 {
                let link = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if link.contains("io_uring") { count += 1 }
            }
        }
        return count
    }

    @Test func nopsCompleteWithTheirUserDataAndOneEnterPerSubmit() throws {
        let ring = try Ring(entries: 8)
        for i in 0..<8 { #expect(ring.prepNop(userData: UInt64(100 + i))) }
        // The submission queue is full now: the next prep says so instead of
        // overwriting an entry.
        #expect(!ring.prepNop(userData: 999))
        #expect(ring.sqReady == 8)
        let before = ring.submitCalls
        #expect(try ring.submitAndWait(8) == 8)
        #expect(ring.submitCalls == before + 1)
        var seen: [UInt64] = []
        let n = ring.harvest { c in
            #expect(c.result == 0)
            seen.append(c.userData)
        }
        #expect(n == 8)
        #expect(seen.sorted() == (100..<108).map(UInt64.init))
        #expect(ring.cqReady == 0)
        #expect(ring.harvest { _ in } == 0)
    }

    @Test func sqPollRingSubmitsAndCompletes() throws {
        let ring: Ring
        do {
            ring = try Ring(entries: 8, sqPollIdleMillis: 10)
        } catch {
            // SQPOLL needs no privilege since 5.11; report but do not fail on
            // a kernel that refuses it.
            print("skipping SQPOLL test: \(error)")
            return
        }
        #expect(ring.isSQPoll)
        for i in 0..<4 { #expect(ring.prepNop(userData: UInt64(i))) }
        try ring.submitAndWait(4)
        var count = 0
        while count < 4 {
            count += ring.harvest { c in #expect(c.result == 0) }
            if count < 4 { try ring.waitForCompletion() }
        }
        #expect(count == 4)
    }

    @Test func backendPoolHandsOutRingsOfTheRequestedSize() throws {
        let backend = try URingBackend(ringEntries: 16)
        #expect(backend.name == "io_uring")
        let entries = try backend.withRing { ring throws(IOError) in ring.sqEntries }
        #expect(entries == 16)
    }
}
