import RingIO
import Testing
@testable import RingKV

/// Group commit (CommitPipeline.swift): concurrent synced writers share WAL
/// groups, every acknowledged write is there, and flush requests queued
/// among them (which end a group) neither hang nor lose writes.
@Suite struct GroupCommitTests {
    /// With waiting writers spinning first (the default) and sleeping at once.
    @Test(arguments: [300, 0])
    func concurrentSyncedWritersShareGroups(spinMicros: Int) throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions()
        options.groupCommitSpinMicros = spinMicros
        let db = try DB(path: path, options: options)
        let threads = 8, perThread = 150
        let workers = (0..<threads).map { t in
            BackgroundThread.spawn {
                for i in 0..<perThread {
                    try? db.put(bytes("t\(t)-\(i)"), bytes("v\(t)-\(i)"), options: WriteOptions(sync: true))
                }
            }
        }
        for worker in workers { worker.join() }
        let stats = db.stats()
        #expect(stats.writeBatches == UInt64(threads * perThread))
        #expect(stats.walSyncedGroups == stats.walGroups)
        // Eight threads waiting on fdatasync: groups must hold several
        // batches (one per group would mean no group commit at all).
        #expect(stats.walGroups * 2 <= stats.writeBatches, "\(stats.walGroups) groups")
        try db.close()
        let reopened = try DB(path: path, options: openOptions())
        for t in 0..<threads {
            for i in 0..<perThread {
                #expect(try reopened.get(bytes("t\(t)-\(i)")) == bytes("v\(t)-\(i)"))
            }
        }
        try reopened.close()
    }

    @Test func flushRequestsAmongGroupedWritersNeitherHangNorLoseWrites() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let threads = 6, perThread = 200
        let workers = (0..<threads).map { t in
            BackgroundThread.spawn {
                for i in 0..<perThread {
                    try? db.put(bytes("t\(t)-\(i)"), bytes("v\(i)"), options: WriteOptions(sync: i % 3 == 0))
                    if t == 0 && i % 40 == 0 { try? db.flush() }
                }
            }
        }
        for worker in workers { worker.join() }
        #expect(db.stats().flushes > 0)
        for t in 0..<threads {
            for i in 0..<perThread { #expect(try db.get(bytes("t\(t)-\(i)")) == bytes("v\(i)")) }
        }
        try db.close()
    }

    /// A writer spinning while it waits that becomes first in line (the
    /// group before it committed without it) leads at once: it sees its
    /// state change, where the old spin watched only for "done" and waited
    /// out the whole spin (issue #15 item 11). WAL buffers of one page and
    /// 3 KB values make every group a single write, so each waiting writer
    /// becomes queue head in turn; with the longest spin allowed (1 s) no
    /// write may take anywhere near it.
    @Test func spinningWriterThatBecomesQueueHeadLeadsAtOnce() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.groupCommitSpinMicros = 1_000_000
        options.groupCommitMaxDelayMicros = 0
        options.walBufferSizeBytes = 4096
        let db = try DB(path: dir.sub("db"), options: options)
        let value = [UInt8](repeating: 0x33, count: 3000)
        let slowest = Locked<UInt64>(0)
        let workers = (0..<4).map { t in
            BackgroundThread.spawn {
                for i in 0..<20 {
                    let started = MonotonicClock.nanos()
                    try? db.put(bytes("t\(t)-\(i)"), value, options: WriteOptions(sync: true))
                    let took = MonotonicClock.nanos() - started
                    slowest.withLock { $0 = max($0, took) }
                }
            }
        }
        for worker in workers { worker.join() }
        let slowestMillis = slowest.withLock { $0 } / 1_000_000
        #expect(slowestMillis < 500, "a write took \(slowestMillis) ms: a spinning writer waited out its spin")
        #expect(db.stats().writeBatches == 80)
        try db.close()
    }
}
