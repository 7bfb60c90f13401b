import Glibc
import RingIO
import Testing
@testable import RingKV

/// `Options.readPollMicros` end to end: a get whose block is not in the
/// page cache polls for its read (`CompletionPoll`), with the right value;
/// compactions, on the engine's background threads or a `compactRange`
/// caller's, never poll; 0 turns polling off.
@Suite struct GetPollTests {
    private static func value(_ i: Int) -> [UInt8] { (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) } }

    private static func polled(_ db: DB) -> Int? {
        (db.impl.backend as? URingBackend)?.readPoll?.polled.load(ordering: .relaxed)
    }

    @Test(arguments: [false, true])
    func getsOfUncachedBlocksPollAndCompactionsNever(direct: Bool) throws {
        let dir = try TempDir()
        if TableTestSupport.isOnTmpfs(dir.path) { return }  // no O_DIRECT, no page cache of its own
        var options = openOptions()
        options.directReads = direct
        options.directTableWrites = direct
        var db = try DB(path: dir.sub("db"), options: options)
        guard db.impl.backend is URingBackend else { try db.close(); return }  // io_uring refused here
        // Four overlapping L0 tables: the background thread merges them,
        // reading every block (through the ring when O_DIRECT).
        for round in 0..<4 {
            for i in stride(from: round, to: 4000, by: 2) { try db.put(compactionKey(i), Self.value(i)) }
            try db.flush()
        }
        #expect(CompactionFixtures.waitForBackgroundWork(db))
        #expect(db.stats().compactions >= 1)
        #expect(Self.polled(db) == 0, "a compaction polled")
        let tables = db.impl.versions.current.files.flatMap { $0 }.map { FileNames.table(dir.sub("db"), $0.number) }
        try db.close()
        for path in tables { try PageCacheAdviceTests.dropPages(path) }

        db = try DB(path: dir.sub("db"), options: options)
        for i in stride(from: 1, to: 4000, by: 397) { #expect(try db.get(compactionKey(i)) == Self.value(i)) }
        #expect((Self.polled(db) ?? 0) >= 1, "no get polled")
        try db.close()
    }

    @Test func aCompactRangeOnTheCallersThreadNeverPolls() throws {
        let dir = try TempDir()
        if TableTestSupport.isOnTmpfs(dir.path) { return }  // no O_DIRECT
        var options = openOptions()
        options.directReads = true
        options.directTableWrites = true
        let db = try DB(path: dir.sub("db"), options: options)
        defer { try? db.close() }
        guard db.impl.backend is URingBackend else { return }  // io_uring refused here
        // Three overlapping L0 tables, one under the trigger: only the
        // compactRange below merges them, on this thread.
        for round in 0..<3 {
            for i in stride(from: round, to: 3000, by: 2) { try db.put(compactionKey(i), Self.value(i)) }
            try db.flush()
        }
        try db.compactRange()
        #expect(db.stats().compactions >= 1)
        #expect(Self.polled(db) == 0, "the caller's compaction polled")
        // The mark is lifted afterwards: this thread's gets poll again.
        for i in stride(from: 1, to: 3000, by: 293) { #expect(try db.get(compactionKey(i)) == Self.value(i)) }
        #expect((Self.polled(db) ?? 0) >= 1, "no get polled after the compactRange")
    }

    @Test func zeroMicrosNeverPolls() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.readPollMicros = 0
        let db = try DB(path: dir.sub("db"), options: options)
        if let uring = db.impl.backend as? URingBackend { #expect(uring.readPoll == nil) }
        try db.close()
    }
}
