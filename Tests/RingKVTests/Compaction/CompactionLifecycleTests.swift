import Glibc
import RingIOFaults
import Testing
@testable import RingKV

/// Failures, file deletion and readers holding old versions.
@Suite struct CompactionLifecycleTests {
    typealias F = CompactionFixtures

    /// Puts every key of `keys`, in a shuffled order (sequential keys would
    /// only ever be moved down, never merged).
    private func fill(_ db: DB, keys: Range<Int>, tag: String) throws {
        var rng = SeededRandom(seed: UInt64(keys.count))
        for i in keys.shuffled(using: &rng) {
            try db.put(compactionKey(i), bytes("\(tag)-\(i)-") + [UInt8](repeating: UInt8(i & 0xff), count: 120))
        }
    }

    private func expectedValue(_ i: Int, tag: String) -> [UInt8] {
        bytes("\(tag)-\(i)-") + [UInt8](repeating: UInt8(i & 0xff), count: 120)
    }

    /// The next `count` compactions on threads `onlyIf` picks fail when
    /// they sync an output table, as a failing disk would: the output is
    /// removed and the compaction retried with back-off.
    private func failNextCompactions(_ count: Int, _ plan: FaultPlan, onlyIf: @escaping @Sendable () -> Bool) {
        for nth in 1...count {
            plan.add(.init(kind: .fsync, nth: nth, errno: EIO, pathContains: ".sst", onlyIf: onlyIf))
        }
    }

    @Test func failedCompactionsAreRetriedAndLeaveNoPartialTables() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let plan = FaultPlan()
        var options = F.smallOptions()
        options.faultPlan = plan
        let db = try DB(path: path, options: options)
        // Automatic compactions run on the thread named so (flushes on
        // their own), and only they fail.
        failNextCompactions(2, plan, onlyIf: FaultPlan.onThread(named: "ringkv-compact"))
        try fill(db, keys: 0..<4000, tag: "a")
        #expect(F.waitForBackgroundWork(db), "compaction did not recover after the injected failures")
        let stats = db.stats()
        #expect(stats.compactionFailures == 2)
        #expect(stats.compactions > 0)
        #expect(db.impl.mu.withLock { db.impl.compaction.failure == nil && db.impl.pendingOutputs.isEmpty })
        db.impl.deleteObsoleteFiles()
        #expect(try F.tableFilesOnDisk(path) == db.impl.versions.current.fileNumbers)
        for i in stride(from: 0, to: 4000, by: 7) {
            #expect(try db.get(compactionKey(i)) == expectedValue(i, tag: "a"))
        }
        try db.close()
    }

    @Test func failedManualCompactionThrowsAndLeavesTheDatabaseIntact() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let plan = FaultPlan()
        var options = F.smallOptions()
        options.faultPlan = plan
        let db = try DB(path: path, options: options)
        try fill(db, keys: 0..<2000, tag: "a")
        try db.flush()
        #expect(F.waitForBackgroundWork(db))
        // The sweep after the last automatic compaction runs after it went
        // idle; on a loaded machine it may not have run yet.
        db.impl.deleteObsoleteFiles()
        let before = db.impl.versions.current.fileNumbers
        // A manual compaction runs on the thread that asks for it.
        let caller = pthread_self()
        failNextCompactions(1, plan, onlyIf: { pthread_equal(pthread_self(), caller) != 0 })
        #expect(throws: DBError.self) { try db.compactRange() }
        #expect(db.impl.versions.current.fileNumbers == before)
        #expect(try F.tableFilesOnDisk(path) == before)
        try db.compactRange()
        #expect(F.nonEmptyLevels(db).count == 1)
        #expect(try db.scan().count == 2000)
        try db.close()
    }

    @Test func obsoleteTablesOutliveTheIteratorsThatReadThem() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: F.smallOptions())
        try fill(db, keys: 0..<3000, tag: "old")
        try db.flush()
        // No compaction may install a version between the iterator's and
        // the one read below, or `tablesSeen` would name tables the
        // iterator does not hold.
        #expect(F.waitForBackgroundWork(db))
        var iterator: DBIterator? = try db.makeIterator()
        let tablesSeen = db.impl.versions.current.fileNumbers
        try fill(db, keys: 0..<3000, tag: "new")
        for i in stride(from: 0, to: 3000, by: 3) { try db.delete(compactionKey(i)) }
        try db.compactRange()
        // Every table the iterator's version uses was replaced but is still on disk.
        let current = db.impl.versions.current.fileNumbers
        #expect(tablesSeen.isDisjoint(with: current))
        #expect(tablesSeen.isSubset(of: try F.tableFilesOnDisk(path)))
        var count = 0
        if let it = iterator {
            try it.seekToFirst()
            while it.isValid {
                #expect(it.key == compactionKey(count) && it.value == expectedValue(count, tag: "old"))
                count += 1
                try it.next()
            }
        }
        #expect(count == 3000)
        iterator = nil
        db.impl.deleteObsoleteFiles()
        #expect(try F.tableFilesOnDisk(path) == current)
        try db.close()
    }

    @Test func closeDuringCompactionStopsCleanlyAndReopens() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let options = F.smallOptions()
        do {
            let db = try DB(path: path, options: options)
            try fill(db, keys: 0..<5000, tag: "a")
            try db.close()  // compactions may be running: they give up
        }
        let db = try DB(path: path, options: options)
        for i in stride(from: 0, to: 5000, by: 11) {
            #expect(try db.get(compactionKey(i)) == expectedValue(i, tag: "a"))
        }
        #expect(F.levelsDoNotOverlap(db.impl.versions.current))
        try db.close()
    }
}
