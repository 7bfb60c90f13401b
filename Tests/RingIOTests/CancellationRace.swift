#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import RingIO
import TestSupport

/// A flag one thread raises and another waits for.
final class RaceFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}

/// Starts `read` in a task that raises a flag just before it calls `read`;
/// another thread waits for the flag, spins `spins` times and cancels the
/// task — so the cancellation lands before the ring's check, between the
/// check and the queue, or in the queue. Returns the task once cancelled.
func startReadCancelledMidway(spins: Int, _ read: @escaping @Sendable () async throws -> Int) async -> Task<Int, any Error> {
    let aboutToQueue = RaceFlag()
    let reader = Task {
        aboutToQueue.raise()
        return try await read()
    }
    let fired = RaceFlag()
    let canceller = TestThread {
        while !aboutToQueue.isRaised { rk_test_relax() }
        for _ in 0..<spins { rk_test_relax() }
        reader.cancel()
        fired.raise()
    }
    while !fired.isRaised { await Task.yield() }
    canceller.join()
    return reader
}

/// The indexes of `readers` that returned instead of throwing
/// CancellationError: reads whose cancellation was lost. Any other error
/// is rethrown.
func readsThatRanAnyway(_ readers: [Task<Int, any Error>]) async throws -> [Int] {
    var lost: [Int] = []
    for (trial, reader) in readers.enumerated() {
        do {
            _ = try await reader.value
            lost.append(trial)
        } catch is CancellationError {
        }
    }
    return lost
}

/// Fills every in-flight slot of `ring` with `block` reads of an empty
/// pipe (16 of them; `block` gets the pipe's read end), runs `body` while
/// no other read can start, then ends the pipe so the blockers complete.
func whileRingIsBlockedByAPipe<R>(_ ring: AsyncReadRing, block: @escaping @Sendable (Int32) async throws -> Int,
                                  _ body: () async throws -> R) async throws -> R {
    var pipeFDs: [Int32] = [0, 0]
    #expect(pipe(&pipeFDs) == 0)
    defer { close(pipeFDs[0]) }
    let pipeReadFD = pipeFDs[0]
    let blockers = (0..<16).map { _ in Task { try await block(pipeReadFD) } }
    while ring.readsInFlight < ring.maxReadsInFlight { await Task.yield() }
    let result = try await body()
    close(pipeFDs[1])
    for blocker in blockers { _ = try await blocker.value }
    return result
}
