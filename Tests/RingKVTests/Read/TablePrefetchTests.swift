import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Asynchronous prefetch of the next read-ahead window: same entries as
/// synchronous read-ahead, safe to abandon, errors reach the iterator.
@Suite struct TablePrefetchTests {
    typealias Rows = [(key: [UInt8], value: [UInt8])]

    /// One ~2.5 MiB table of 4 KiB blocks read through `backend`.
    static func makeTable(backend: any IOBackend, direct: File.DirectIO = .preferred)
        throws -> (dir: TempDir, reader: TableReader, entries: Rows) {
        let dir = try TempDir("ringkv-prefetch")
        let path = dir.sub("1.sst")
        let entries = ReadTestSupport.tableEntries(0..<20_000, tag: "pf", firstSequence: 1)
        try TableTestSupport.writeTable(path: path, entries: entries, backend: try URingBackend(),
                                        options: TableBuilderOptions(), direct: direct)
        let reader = try TableTestSupport.openTable(path: path, backend: backend, direct: direct, fileNumber: 1)
        return (dir, reader, entries)
    }

    static func same(_ a: Rows, _ b: Rows) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    @Test(arguments: [true, false])
    func prefetchedScansReturnExactlyWhatSynchronousReadAheadReturns(posix: Bool) throws {
        let backend: any IOBackend = posix ? PosixBackend() : try URingBackend()
        let t = try Self.makeTable(backend: backend)
        for mode in [ReadAhead.adaptive, .compaction] {
            let cache = BlockCache(capacityBytes: 8 << 20)
            let sync = t.reader.makeIterator(cache: cache, readAhead: mode, prefetch: false)
            let syncRows = try TableTestSupport.scan(sync)
            #expect(sync.prefetchReads == 0)
            // A second block cache, so the prefetching scan starts cold too.
            let prefetching = t.reader.makeIterator(cache: BlockCache(capacityBytes: 8 << 20), readAhead: mode)
            let rows = try TableTestSupport.scan(prefetching)
            #expect(Self.same(rows, t.entries), "\(mode) posix \(posix)")
            #expect(Self.same(syncRows, t.entries), "\(mode) posix \(posix)")
            // Synchronous windows until prefetching starts (compaction: one;
            // a user scan: two, so a short scan never prefetches), then every
            // later window was prefetched.
            #expect(prefetching.windowReads == (mode == .compaction ? 1 : 2), "\(mode)")
            // Adaptive windows grow 16 KiB -> 256 KiB; compaction's are 1 MiB.
            let windowBytes = mode == .compaction ? 1 << 20 : 256 << 10
            #expect(prefetching.prefetchReads >= Int(t.reader.dataEndOffset) / windowBytes - 1, "\(mode)")
            #expect(prefetching.prefetchesUsed == prefetching.prefetchReads, "\(mode)")
            #expect(sync.windowReads >= prefetching.prefetchReads, "\(mode)")
        }
    }

    /// A buffered table: user scans and compaction inputs read their
    /// windows synchronously (pread; io_uring would punt uncached buffered
    /// reads to a worker, and the kernel's read-ahead serves a sequential
    /// pread). (O_DIRECT compaction inputs prefetch: the test above.)
    @Test func scansOfABufferedTableDoNotPrefetch() throws {
        let t = try Self.makeTable(backend: try URingBackend(), direct: .off)
        let user = t.reader.makeIterator(cache: BlockCache(capacityBytes: 8 << 20), readAhead: .adaptive)
        #expect(Self.same(try TableTestSupport.scan(user), t.entries))
        #expect(user.prefetchReads == 0 && user.windowReads > 2)
        let compaction = t.reader.makeIterator(readAhead: .compaction)
        #expect(Self.same(try TableTestSupport.scan(compaction), t.entries))
        #expect(compaction.prefetchReads == 0 && compaction.windowReads > 2)
    }

    @Test func aSeekAwayDropsThePrefetchAndStillReadsTheRightBlocks() throws {
        let t = try Self.makeTable(backend: try URingBackend())
        let it = t.reader.makeIterator()
        var rng = SeededRandom(seed: testSeed())
        for _ in 0..<40 {
            let start = Int(rng.next() % 20_000)
            let target = InternalKey.make(ReadTestSupport.key(start), UInt64.max >> 8, .value)
            try target.withUnsafeBytes { try it.seek($0) }
            var n = 0
            while it.isValid && n < 700 {
                let want = t.entries[start + n]
                #expect(Array(it.key) == want.key && Array(it.value) == want.value)
                try it.next()
                n += 1
            }
        }
        #expect(it.prefetchReads > it.prefetchesUsed, "some prefetches were dropped unused")
    }

    @Test func iteratorsDestroyedWhileTheirPrefetchIsInFlightAreSafe() throws {
        let backend = try URingBackend()
        let t = try Self.makeTable(backend: backend, direct: .preferred)
        for round in 0..<30 {
            var it: TableIterator? = t.reader.makeIterator(readAhead: round % 2 == 0 ? .adaptive : .compaction)
            try it!.seekToFirst()
            // Walk until a prefetch was submitted (and usually still runs).
            while it!.isValid && it!.prefetchReads < 1 + round % 3 { try it!.next() }
            #expect(it!.prefetchReads >= 1)
            it = nil  // drains the prefetch before its buffer is freed
        }
        // The rings went back to the pool clean: a full scan is still right.
        #expect(Self.same(try TableTestSupport.scan(t.reader.makeIterator()), t.entries))
    }

    @Test func aFailedPrefetchedReadIsTheIteratorsError() throws {
        let plan = FaultPlan()
        let t = try Self.makeTable(backend: FaultInjectingBackend(base: try URingBackend(), plan: plan))
        let it = t.reader.makeIterator()
        try it.seekToFirst()
        var seen = 0
        while it.isValid && it.prefetchReads == 0 {
            try it.next()
            seen += 1
        }
        // The prefetch is in flight and went out fine; the kernel's answer
        // is replaced when the iterator harvests it.
        plan.add(FaultPlan.Rule(kind: .read, nth: 1, errno: EIO, sticky: true))
        let windowsBefore = it.windowReads
        var failure: (any Error)?
        do {
            while it.isValid {
                #expect(Array(it.key) == t.entries[seen].key)
                try it.next()
                seen += 1
            }
        } catch {
            failure = error
        }
        guard case .io(let io)? = failure as? DBError else {
            Issue.record("expected DBError.io, got \(String(describing: failure))")
            return
        }
        #expect(io.errno == EIO)
        #expect(io.path == t.reader.path)
        #expect(it.prefetchesUsed == 1 && it.windowReads == windowsBefore, "the error came from the prefetched window")
        #expect(seen < t.entries.count)
    }
}
