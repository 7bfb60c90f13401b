import Glibc
import Testing
@testable import RingKV

/// A sustained write load: L0 stays bounded by the stop trigger, stalls
/// are counted, and after compactRange the directory is close to the live
/// data size.
@Suite struct CompactionLoadTests {
    typealias F = CompactionFixtures

    /// Value of `key` written at `round`: incompressible bytes derived from both.
    private func value(key: Int, round: Int, length: Int) -> [UInt8] {
        var rng = SeededRandom(seed: UInt64(key) &* 0x9E37_79B9 &+ UInt64(round))
        return (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    @Test func sustainedWritesKeepLevel0BoundedAndSpaceNearLiveData() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = F.smallOptions(memtableBytes: 256 << 10, targetFileBytes: 256 << 10, l1Bytes: 1 << 20,
                                     multiplier: 8)
        options.l0SlowdownTrigger = 6
        options.l0StopTrigger = 8
        let db = try DB(path: path, options: options)
        let keySpace = 40_000
        let totalBytes = 24 << 20
        // key -> (round, length) of its live value; nil once deleted.
        var live: [Int: (round: Int, length: Int)] = [:]
        var written = 0
        var round = 0
        var maxLevel0 = 0
        var batch = WriteBatch()
        while written < totalBytes {
            let key = Int.random(in: 0..<keySpace, using: &rng)
            round += 1
            if Int.random(in: 0..<20, using: &rng) == 0 {
                batch.delete(compactionKey(key))
                live[key] = nil
            } else {
                let length = Int.random(in: 200..<1000, using: &rng)
                batch.put(compactionKey(key), value(key: key, round: round, length: length))
                live[key] = (round, length)
                written += length
            }
            if batch.count == 16 {
                try db.write(batch)
                batch = WriteBatch()
                maxLevel0 = max(maxLevel0, db.impl.level0FileCount)
            }
        }
        try db.write(batch)
        #expect(maxLevel0 <= options.l0StopTrigger, "seed \(seed): L0 reached \(maxLevel0) tables")
        let stats = db.stats()
        #expect(stats.compactions > 20, "seed \(seed)")
        #expect(stats.compactionFailures == 0)
        #expect(F.levelsDoNotOverlap(db.impl.versions.current), "seed \(seed)")

        try db.compactRange()
        let liveBytes = live.reduce(0) { $0 + $1.value.length + compactionKey($1.key).count }
        let diskBytes = try F.directoryBytes(path)
        #expect(Double(diskBytes) <= 1.5 * Double(liveBytes), "seed \(seed): \(diskBytes) B on disk for \(liveBytes) B live")
        let counts = try F.tableEntryCounts(db)
        #expect(counts.entries == UInt64(live.count) && counts.deletions == 0, "seed \(seed)")
        // Spot checks against the model.
        for _ in 0..<2000 {
            let key = Int.random(in: 0..<keySpace, using: &rng)
            let expected = live[key].map { value(key: key, round: $0.round, length: $0.length) }
            #expect(try db.get(compactionKey(key)) == expected, "seed \(seed) key \(key)")
        }
        try db.close()
    }

    @Test func writersWaitAtTheStopTriggerUntilCompactionCatchesUp() throws {
        let dir = try TempDir()
        var options = F.smallOptions(memtableBytes: 64 << 10, targetFileBytes: 64 << 10, l1Bytes: 256 << 10)
        options.l0CompactionTrigger = 2
        options.l0SlowdownTrigger = 3
        options.l0StopTrigger = 4
        let db = try DB(path: dir.sub("db"), options: options)
        // Hold compaction off: writers pile L0 up to the stop trigger.
        db.impl.mu.withLock { db.impl.compaction.manualWaiting += 1 }
        let writer = BackgroundThread.spawn {
            for i in 0..<6000 { try? db.put(compactionKey(i), [UInt8](repeating: UInt8(i & 0xff), count: 100)) }
        }
        // Stopped: L0 at the trigger, nothing flushing, the memtable full
        // and not switched.
        let impl = db.impl
        func isStopped() -> Bool {
            impl.mu.withLock {
                impl.level0FileCount == options.l0StopTrigger && impl.imm == nil
                    && impl.mem.approximateMemoryUsageBytes >= options.memtableSizeBytes
            }
        }
        var stopped = false
        let deadline = MonotonicClock.nanos() + 30_000_000_000
        while MonotonicClock.nanos() < deadline && !stopped {
            if isStopped() {
                usleep(50_000)
                stopped = isStopped()
            } else {
                usleep(2_000)
            }
        }
        #expect(stopped, "L0 never reached the stop trigger")
        #expect(db.impl.level0FileCount <= options.l0StopTrigger)
        // Let compaction run: the writer finishes.
        db.impl.mu.withLock {
            db.impl.compaction.manualWaiting -= 1
            db.impl.wakeAllLocked()
        }
        writer.join()
        let stats = db.stats()
        #expect(stats.stalls > 0 && stats.stallMicros > 0)
        #expect(stats.slowdowns > 0 && stats.slowdownMicros > 0)
        #expect(try db.get(compactionKey(5999)) == [UInt8](repeating: UInt8(5999 & 0xff), count: 100))
        try db.close()
    }
}
