import RingIO
import Foundation
import Synchronization
import Testing
@testable import RingKV

private typealias T = MemTableTestSupport

/// State shared by the writer and reader threads of the concurrency test.
private final class SharedProgress: Sendable {
    /// Number of keys the writer has finished adding (release after each add).
    let publishedCount = Atomic<Int>(0)
    let writerDone = Atomic<Bool>(false)
    /// Violations found by any thread (recorded here because the threads run
    /// outside the test's task, then checked on the test thread).
    let failures = Locked<[String]>([])
    /// Full iterations and gets the readers completed, to show they ran.
    let readerPasses = Atomic<Int>(0)
    /// Reader passes that began before the writer finished.
    let readerPassesDuringWrites = Atomic<Int>(0)
    /// Readers that are running; the writer waits for all of them so that
    /// reads really overlap the inserts.
    let readersStarted = Atomic<Int>(0)

    func fail(_ message: String) {
        failures.withLock { if $0.count < 20 { $0.append(message) } }
    }
}

/// Starts every body on its own thread and blocks until all have returned.
private func runOnThreads(_ bodies: [@Sendable () -> Void]) {
    let group = DispatchGroup()
    for body in bodies {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

@Suite struct MemTableConcurrencyTests {
    @Test func readersSeeSortedUntornEntriesWhileOneWriterInserts() {
        let seed = T.seed()
        var rng = T.Random(seed: seed)
        let keyCount = 100_000
        // Unique keys: a short random prefix over a tiny alphabet (lots of
        // shared prefixes, random order) then the index.
        let keys: [[UInt8]] = (0..<keyCount).map { i in
            let prefix = (0..<Int.random(in: 0...10, using: &rng)).map { _ in UInt8.random(in: 97...100, using: &rng) }
            return prefix + withUnsafeBytes(of: UInt32(i).bigEndian, Array.init)
        }
        // With a key filter that really filters (about 20 bits per key):
        // a reader must never be told "absent" for a published key.
        let memTable = MemTable(seed: rng.next(), filterBytes: 256 << 10)
        let progress = SharedProgress()
        let readerSeeds = (0..<3).map { _ in rng.next() }

        let readerCount = readerSeeds.count
        let writer: @Sendable () -> Void = {
            while progress.readersStarted.load(ordering: .acquiring) < readerCount { sched_yield() }
            for (i, key) in keys.enumerated() {
                T.add(memTable, SequenceNumber(i + 1), .value, key, T.valueFor(key: key))
                progress.publishedCount.store(i + 1, ordering: .releasing)
            }
            progress.writerDone.store(true, ordering: .releasing)
        }
        let readers: [@Sendable () -> Void] = readerSeeds.map { readerSeed in
            {
                var random = T.Random(seed: readerSeed)
                progress.readersStarted.add(1, ordering: .releasing)
                var finalPass = false
                while !finalPass {
                    finalPass = progress.writerDone.load(ordering: .acquiring)
                    let published = progress.publishedCount.load(ordering: .acquiring)
                    Self.checkFullScan(memTable, atLeast: published, progress)
                    for _ in 0..<200 where published > 0 {
                        // Every key published before this read must be found.
                        let i = Int.random(in: 0..<published, using: &random)
                        let result = T.get(memTable, keys[i])
                        if result != .found(T.valueFor(key: keys[i])) {
                            progress.fail("get of published key \(i) returned \(result)")
                        }
                        // Any other key is either absent or complete.
                        let j = Int.random(in: 0..<keyCount, using: &random)
                        switch T.get(memTable, keys[j]) {
                        case .notFound where j >= published: break
                        case .found(let v) where v == T.valueFor(key: keys[j]): break
                        case let other: progress.fail("get of key \(j) (published \(published)) returned \(other)")
                        }
                    }
                    progress.readerPasses.add(1, ordering: .relaxed)
                    if !finalPass { progress.readerPassesDuringWrites.add(1, ordering: .relaxed) }
                }
            }
        }
        runOnThreads([writer] + readers)

        let failures = progress.failures.withLock { $0 }
        #expect(failures.isEmpty, "seed \(seed): \(failures)")
        #expect(progress.readerPasses.load(ordering: .relaxed) >= 3)
        #expect(progress.readerPassesDuringWrites.load(ordering: .relaxed) > 0)
        #expect(memTable.entryCount == keyCount)
        var missing = 0
        for key in keys where T.get(memTable, key) != .found(T.valueFor(key: key)) { missing += 1 }
        #expect(missing == 0, "seed \(seed)")
    }

    /// One full iteration: strictly ascending internal keys, each value the
    /// one its key implies, and at least `atLeast` entries.
    private static func checkFullScan(_ memTable: MemTable, atLeast published: Int, _ progress: SharedProgress) {
        let it = memTable.makeIterator()
        it.seekToFirst()
        var previous: UnsafeRawBufferPointer?
        var count = 0
        while it.isValid {
            let key = it.key
            if let previous, InternalKey.compare(previous, key) >= 0 {
                progress.fail("iteration out of order at entry \(count)")
                return
            }
            let userKey = Array(InternalKey.userKey(key))
            if Array(it.value) != T.valueFor(key: userKey) {
                progress.fail("torn entry at position \(count): value does not match key")
                return
            }
            // The key bytes live in the arena and stay valid: no copy needed.
            previous = key
            count += 1
            it.next()
        }
        if count < published { progress.fail("iteration saw \(count) entries, \(published) were published") }
    }
}
