#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import RingIO
import TestSupport

/// `AsyncReadRing.readLone`: one read per task through the ring's record
/// table and registered buffer pool (LoneReads.swift).
@Suite struct AsyncLoneReadTests {
    /// Reads `pages` pages at page `page`; returns whether the bytes are the pattern's.
    static func read(_ ring: AsyncReadRing, fd: Int32, page: Int, pages: Int) async throws -> (Int, Bool) {
        let offset = UInt64(page * 4096)
        return try await ring.readLone(fd: fd, offset: offset, length: pages * 4096) { bytes in
            (bytes.count, firstPatternMismatch(bytes, fileOffset: offset) == nil)
        }
    }

    /// More tasks than pool slots (2048) and ring entries, O_DIRECT and
    /// buffered, reads of one to three pages and of more than a slot
    /// (memory of their own): every task gets its own bytes.
    @Test(arguments: [File.DirectIO.preferred, .off])
    func moreReadsThanPoolSlotsAllGetTheirBytes(direct: File.DirectIO) async throws {
        let pattern = try PatternFixture(sizeBytes: 8 << 20, direct: direct)
        let ring = try AsyncReadRing(entries: 64)
        defer { ring.shutdown() }
        let pagesInFile = (8 << 20) / 4096
        let bad = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<3000 {
                group.addTask {
                    let pages = i % 500 == 0 ? 9 : 1 + i % 3  // 9 pages: 36 KiB, beyond a 16 KiB slot
                    let (count, good) = try await Self.read(ring, fd: pattern.file.fd,
                                                            page: (i * 7919) % (pagesInFile - 10), pages: pages)
                    return count == pages * 4096 && good ? 0 : 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(bad == 0)
        #expect(ring.readsInFlight == 0)
    }

    @Test func shortReadsAreResubmittedIntoTheSameSlot() async throws {
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        let ring = try AsyncReadRing(entries: 8, shortTransfers: { _, _, moved in max(moved / 2, 1) })
        defer { ring.shutdown() }
        let (count, good) = try await Self.read(ring, fd: pattern.file.fd, page: 5, pages: 3)
        #expect(count == 3 * 4096 && good)
    }

    @Test func endOfFileStopsShortAndABadDescriptorThrows() async throws {
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        let ring = try AsyncReadRing(entries: 8)
        defer { ring.shutdown() }
        let (count, good) = try await Self.read(ring, fd: pattern.file.fd, page: 255, pages: 3)
        #expect(count == 4096 && good)
        await #expect(throws: IOError.self) { _ = try await Self.read(ring, fd: -1, page: 0, pages: 1) }
        // The ring goes on after a failed read.
        let (again, stillGood) = try await Self.read(ring, fd: pattern.file.fd, page: 1, pages: 1)
        #expect(again == 4096 && stillGood)
    }

    /// A slot stays taken from a read's preparation until its task ran the
    /// body, so completed reads whose tasks wait to run hold slots: the
    /// pool has twice as many as the default ring may have reads in
    /// flight, so the device keeps reading meanwhile (with as many slots
    /// as reads in flight, 20,000 tasks started at once held them all
    /// and the device idled).
    @Test func thePoolOutnumbersTheReadsInFlightTwice() throws {
        let ring = try AsyncReadRing()
        defer { ring.shutdown() }
        #expect(ring.hasPool)
        #expect(AsyncReadRing.poolSlotCount >= 2 * ring.maxReadsInFlight)
    }

    /// What the body throws comes out of `readLone`, and the slot goes back.
    @Test func aThrowingBodyGivesItsSlotBack() async throws {
        struct Refused: Error {}
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        let ring = try AsyncReadRing(entries: 8)
        defer { ring.shutdown() }
        for _ in 0..<(AsyncReadRing.poolSlotCount + 10) {
            await #expect(throws: Refused.self) {
                try await ring.readLone(fd: pattern.file.fd, offset: 0, length: 4096) { _ in throw Refused() }
            }
        }
        let (count, good) = try await Self.read(ring, fd: pattern.file.fd, page: 2, pages: 1)
        #expect(count == 4096 && good)
    }

    /// As for batches (AsyncReadRingCancellationTests): reads of an empty
    /// pipe hold every slot of the ring; a lone read cancelled at any point
    /// before it could start throws `CancellationError`.
    @Test func aCancellationRacingTheQueueIsNeverLost() async throws {
        let seed = testSeed()
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        let ring = try AsyncReadRing(entries: 2)
        defer { ring.shutdown() }
        let readers = try await whileRingIsBlockedByAPipe(ring, block: { fd in
            try await ring.readLone(fd: fd, offset: 0, length: 1) { $0.count }
        }) {
            var rng = SplitMix64(seed: seed)
            var readers: [Task<Int, any Error>] = []
            for trial in 0..<400 {
                let reader = await startReadCancelledMidway(spins: Int(rng.next() % 200)) {
                    try await ring.readLone(fd: pattern.file.fd, offset: UInt64(trial % 200) * 4096,
                                            length: 4096) { $0.count }
                }
                readers.append(reader)
            }
            return readers
        }
        let lost = try await readsThatRanAnyway(readers)
        #expect(lost.isEmpty, "seed \(seed): lone reads cancelled before they could start ran anyway: \(lost)")
    }
}
