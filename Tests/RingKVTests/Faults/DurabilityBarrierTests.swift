// Calls that make every earlier write durable when they return
// (docs/DURABILITY.md §Acknowledged writes), and what a failed log sync
// leaves them.
import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// A returned `flush()` or `compactRange()` makes every earlier write
/// durable (docs/DURABILITY.md §Acknowledged writes), whichever keyspace
/// it went to — also when the flushed keyspace's memtable was empty and
/// there was nothing to switch. Found by a power-loss round (seed
/// 1663366828332503261, round 39): batches written only to other
/// keyspaces, then `db.flush()` of an empty default memtable, were lost
/// with the log's unsynced tail.
@Suite struct FlushDurabilityTests {
    static func options(_ plan: FaultPlan?) -> Options {
        var o = Options()
        o.walPreallocateBytes = 1 << 20
        o.faultPlan = plan
        return o
    }

    /// A new database at `path` whose I/O goes through `plan`.
    static func created(_ path: String, plan: FaultPlan) throws -> DB {
        var options = Self.options(plan)
        options.createIfMissing = true
        return try DB(path: path, options: options)
    }

    /// Writes `key` unsynced to keyspace `written`, runs `maintenance` on
    /// an empty keyspace, cuts the power losing every unsynced byte, and
    /// returns what `written` holds after reopening.
    static func afterPowerLoss(written: String, maintenance: (DB) throws -> Void) throws -> [String: String] {
        let dir = try TempDir()
        let path = dir.sub("db")
        let plan = FaultPlan()
        let db = try Self.created(path, plan: plan)
        _ = try db.keyspace("a")
        try db.keyspace(written).put("k", "v")
        try maintenance(db)
        db.impl.abandonForCrashTest()
        _ = try plan.simulateCrash(tear: .none, directories: .keepAll, seed: 7)
        let reopened = try DB(path: path, options: Self.options(nil))
        defer { try? reopened.close() }
        var state: [String: String] = [:]
        for row in try reopened.existingKeyspace(written).scan() {
            state[String(decoding: row.key, as: UTF8.self)] = String(decoding: row.value, as: UTF8.self)
        }
        return state
    }

    @Test func flushOfAnEmptyDefaultMakesAnotherKeyspacesWriteDurable() throws {
        #expect(try Self.afterPowerLoss(written: "a") { try $0.flush() } == ["k": "v"])
    }

    @Test func flushOfAnEmptyKeyspaceMakesADefaultWriteDurable() throws {
        #expect(try Self.afterPowerLoss(written: "default") { try $0.keyspace("a").flush() } == ["k": "v"])
    }

    @Test func compactRangeOfAnEmptyDefaultMakesAnotherKeyspacesWriteDurable() throws {
        #expect(try Self.afterPowerLoss(written: "a") { try $0.compactRange() } == ["k": "v"])
    }

    /// A range compaction that flushes nothing (the memtable holds nothing
    /// of the range, or the range is empty) syncs the log too.
    @Test func compactRangeOfARangeTheMemtableLacksMakesEarlierWritesDurable() throws {
        #expect(try Self.afterPowerLoss(written: "default") {
            try $0.compactRange(from: Array("x".utf8), to: Array("y".utf8))
        } == ["k": "v"])
        #expect(try Self.afterPowerLoss(written: "a") {
            try $0.compactRange(from: Array("x".utf8), to: Array("x".utf8))
        } == ["k": "v"])
    }
}

/// An empty write with `sync: true` — a batch without operations, a
/// transaction with nothing to write — makes every earlier write durable,
/// as a synced write does (docs/DURABILITY.md; LevelDB logs an empty
/// batch and syncs it too). A power-loss round could draw such a
/// transaction (its one range deletion empty, so nothing to write) and
/// then expects every batch before it to survive.
@Suite struct EmptySyncedWriteDurabilityTests {
    static func afterPowerLoss(_ emptySyncedWrite: (DB) async throws -> Void) async throws -> [String: String] {
        let dir = try TempDir()
        let path = dir.sub("db")
        let plan = FaultPlan()
        let db = try withUnsyncedWrite(path: path, plan: plan)
        try await emptySyncedWrite(db)
        db.impl.abandonForCrashTest()
        _ = try plan.simulateCrash(tear: .none, directories: .keepAll, seed: 7)
        return try stringContents(path, options: FlushDurabilityTests.options(nil))
    }

    /// A new database at `path` holding one unsynced write, k = v.
    static func withUnsyncedWrite(path: String, plan: FaultPlan) throws -> DB {
        let db = try FlushDurabilityTests.created(path, plan: plan)
        try db.put("k", "v")
        return db
    }

    static let synced = WriteOptions(sync: true)

    @Test func anEmptyBatch() async throws {
        #expect(try await Self.afterPowerLoss { try $0.write(WriteBatch(), options: Self.synced) } == ["k": "v"])
    }

    @Test func anEmptyBatchAsync() async throws {
        #expect(try await Self.afterPowerLoss { try await $0.write(WriteBatch(), options: Self.synced) } == ["k": "v"])
    }

    @Test func aTransactionWithNothingToWrite() async throws {
        #expect(try await Self.afterPowerLoss { db in
            let txn = db.beginTransaction(options: Self.synced)
            _ = try txn.get("k")
            try txn.commit()
        } == ["k": "v"])
    }

    @Test func aTransactionWithNothingToWriteAsync() async throws {
        #expect(try await Self.afterPowerLoss { db in
            let txn = db.beginTransaction(options: Self.synced)
            try await txn.commit()
        } == ["k": "v"])
    }

    /// Without `sync` nothing changes: the unsynced write is lost.
    @Test func anEmptyUnsyncedBatchSyncsNothing() async throws {
        #expect(try await Self.afterPowerLoss { try $0.write(WriteBatch()) } == [:])
    }
}

/// After a failed write or sync of the log nothing syncs it again: Linux
/// reports a writeback error once, so a second fdatasync may succeed for
/// pages it already dropped, and a caller would be told earlier writes
/// are durable when they may be lost.
@Suite struct NoLogSyncAfterAFailureTests {
    @Test func aFailedLogSyncIsNeverFollowedByAnother() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try FlushDurabilityTests.created(dir.sub("db"), plan: plan)
        defer { try? db.close() }
        try db.put("a", "1")
        plan.add(.init(kind: .fsync, nth: 1, errno: EIO, pathContains: ".log"))
        #expect(throws: DBError.self) { try db.put("b", "2", options: WriteOptions(sync: true)) }
        // Every path that syncs the log on its own (an empty synced write,
        // a flush, a keyspace create or drop, an ingest) goes through
        // `syncLogLocked`; a request queued before the failure reaches it
        // past admission.
        let impl = db.impl
        impl.mu.lock()
        let resynced = Result { () throws(DBError) in try impl.syncLogLocked() }
        impl.mu.unlock()
        guard case .failure(.readOnly(.logFailed)) = resynced else {
            Issue.record("the log was synced again after its sync failed: \(resynced)")
            return
        }
        #expect(throws: DBError.self) { try db.write(WriteBatch(), options: WriteOptions(sync: true)) }
        #expect(throws: DBError.self) { try db.flush() }
    }

    /// An empty synced write queued before a failed log write, with
    /// nothing left unsynced, is refused too: the database refuses every
    /// write after its log failed.
    @Test func aQueuedEmptySyncedWriteIsRefusedAfterTheLogFailed() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let db = try FlushDurabilityTests.created(dir.sub("db"), plan: plan)
        defer { try? db.close() }
        plan.add(.init(kind: .write, nth: 1, errno: EIO, pathContains: ".log"))
        #expect(throws: DBError.self) { try db.put("a", "1") }
        let impl = db.impl
        #expect(!impl.mu.withLock { impl.wal.hasUnsyncedWrites })
        // What its leader does once the request reaches the queue's head.
        let request = PendingWrite.forCurrentThread()
        request.prepare(.syncLog, sync: true)
        defer { request.clear() }
        impl.mu.lock()
        let led = Result { () throws(DBError) in try impl.makeRoomLocked(for: request) }
        impl.mu.unlock()
        guard case .failure(.readOnly(.logFailed)) = led else {
            Issue.record("an empty synced write succeeded after the log failed: \(led)")
            return
        }
    }
}

