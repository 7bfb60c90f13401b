#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import RingIO
import TestSupport

/// Cancellation of `AsyncReadRing` reads at every point: before the batch
/// is queued, while it waits for room, and after it was submitted.
@Suite struct AsyncReadRingCancellationTests {
    /// Reads of an empty pipe hold every in-flight slot of a small ring,
    /// so no other batch can start; each reader cancelled meanwhile — the
    /// cancellation landing before its check, between the check and the
    /// queue, or in the queue — must throw `CancellationError`.
    @Test func aCancellationRacingTheQueueIsNeverLost() async throws {
        let seed = testSeed()
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        let ring = try AsyncReadRing(entries: 2)
        defer { ring.shutdown() }
        let readers = try await whileRingIsBlockedByAPipe(ring, block: { fd in
            let buffer = SharedAlignedBuffer(capacity: 4096)
            return try await ring.read([ReadRequest(fd: fd, offset: 0, length: 1, buffer: buffer.pointer)],
                                       buffer: buffer)[0].bytesRead
        }) {
            var rng = SplitMix64(seed: seed)
            var readers: [Task<Int, any Error>] = []
            for trial in 0..<600 {
                let reader = await startReadCancelledMidway(spins: Int(rng.next() % 200)) {
                    let buffer = SharedAlignedBuffer(capacity: 4096)
                    return try await ring.read([ReadRequest(fd: pattern.file.fd, offset: UInt64(trial % 256) * 4096,
                                                            length: 4096, buffer: buffer.pointer)],
                                               buffer: buffer)[0].bytesRead
                }
                readers.append(reader)
            }
            return readers
        }
        let lost = try await readsThatRanAnyway(readers)
        #expect(lost.isEmpty, "seed \(seed): reads cancelled before they could start ran anyway: trials \(lost)")
    }

    /// A read cancelled after its batch was submitted completes with its
    /// bytes (a regular-file read cannot be taken back).
    @Test func aReadCancelledAfterSubmissionReturnsItsBytes() async throws {
        let ring = try AsyncReadRing(entries: 8)
        defer { ring.shutdown() }
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        let pipeReadFD = pipeFDs[0]
        let reader = Task {
            let buffer = SharedAlignedBuffer(capacity: 4096)
            let done = try await ring.read([ReadRequest(fd: pipeReadFD, offset: 0, length: 3, buffer: buffer.pointer)],
                                           buffer: buffer)[0]
            return Array(UnsafeRawBufferPointer(start: buffer.pointer, count: done.bytesRead))
        }
        while ring.readsInFlight < 1 { await Task.yield() }
        reader.cancel()
        #expect(write(pipeFDs[1], "abc", 3) == 3)
        #expect(try await reader.value == Array("abc".utf8))
        close(pipeFDs[0])
        close(pipeFDs[1])
    }
}

/// The x86 `pause` hint for spin loops (no CRingSupport import needed).
@inline(__always) func rk_test_relax() { WaitWord.relax() }
