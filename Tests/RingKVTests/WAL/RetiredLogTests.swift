import Glibc
import Logging
import RingIO
import RingIOFaults
import Synchronization
import Testing
@testable import RingKV

/// A WAL retired at a memtable switch and kept (another keyspace's
/// unflushed writes are in it) holds only its written bytes: the switch
/// cuts its preallocated tail off the file (`WALWriter.truncate`), and a
/// checkpoint or backup copies it only to the written end the switch
/// recorded, even when the cut failed. Every reader of the log still
/// reads all of it: a checkpoint, a backup's restore, a reopen, the change
/// feed, a follower, and a `LogReader` opened before the cut.
///
/// The logs are preallocated in 1 MiB steps (`openOptions`); a few hundred
/// small writes fill a few tens of KiB of one. "Written end" is exact, no
/// rounding: the end of the last valid record.
@Suite struct RetiredLogTests {
    static let rounds = 200

    /// The logs of the database at `path`, ascending.
    static func logNumbers(_ path: String) throws -> [UInt64] {
        try FileSystem.listDirectory(path).compactMap { FileNames.parse($0) }
            .filter { $0.kind == .log }.map(\.number).sorted()
    }

    /// Where the valid records of log file `path` end, and how many there are.
    static func recordsEnd(_ path: String) throws -> (endBytes: UInt64, records: Int) {
        var records = 0
        let ending = try LogReader(path: path, backend: IOBackends.makeDefault())
            .read(evidence: .syncPoints, strict: true) { record in
                if !record.isSyncPoint { records += 1 }
            }
        #expect(ending.dropped == nil, "\(path) ends cleanly")
        return (ending.validBytes, records)
    }

    /// `rounds` writes to "default" and to "kept" each, a flush of
    /// "default" only (its memtable switch retires the log; "kept" still
    /// has data in it), `rounds` more to each. Returns the retired log's
    /// number.
    static func writeRetireAndKeep(_ db: DB, between: () throws -> Void = {}) throws -> UInt64 {
        let kept = try db.keyspace("kept")
        for i in 0..<rounds {
            try db.put("d\(i)", "dv\(i)")
            try kept.put("k\(i)", "kv\(i)")
        }
        try between()
        try db.flush()
        for i in rounds..<(2 * rounds) {
            try db.put("d\(i)", "dv\(i)")
            try kept.put("k\(i)", "kv\(i)")
        }
        return try #require(try logNumbers(db.impl.path).first)
    }

    /// Every row written by `writeRetireAndKeep` is in `db`.
    static func expectAllRows(_ db: DB, _ label: String) throws {
        let kept = try db.keyspace("kept")
        for i in 0..<(2 * rounds) {
            #expect(try db.get("d\(i)") == "dv\(i)", "\(label): d\(i)")
            #expect(try kept.get("k\(i)") == "kv\(i)", "\(label): k\(i)")
        }
    }

    @Test func aRetiredLogIsCutToItsWrittenEndAndItsCheckpointCopyHoldsNoTail() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        let retired = try Self.writeRetireAndKeep(db)
        #expect(try Self.logNumbers(path).count >= 2, "the retired log is kept")
        let logPath = FileNames.log(path, retired)
        let written = try Self.recordsEnd(logPath)
        #expect(written.records >= Self.rounds)
        #expect(try FileSystem.fileSize(logPath) == written.endBytes, "cut to its written end")

        try db.checkpoint(to: dir.sub("cp"))
        let copy = FileNames.log(dir.sub("cp"), retired)
        #expect(try FileSystem.fileSize(copy) == written.endBytes, "the checkpoint copies no zeros")
        let checkpoint = try DB(path: dir.sub("cp"), options: openOptions())
        try Self.expectAllRows(checkpoint, "checkpoint")
        try checkpoint.close()

        // The source replays the cut log at reopen.
        try db.close()
        let reopened = try DB(path: path, options: openOptions())
        try Self.expectAllRows(reopened, "reopened")
        try reopened.close()
    }

    /// The cut comes after the retired log's last fdatasync (the switch
    /// syncs its unsynced tail first) and is the last operation on it.
    @Test func theCutFollowsTheRetiredLogsLastSync() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let seen = Mutex<[String]>([])
        func note(_ what: String) -> @Sendable () -> Void {
            { seen.withLock { $0.append(what) } }
        }
        var options = openOptions()
        options.faultPlan = FaultPlan([
            FaultPlan.Rule(kind: .fsync, sticky: true, pathContains: "000002.log", before: note("sync")),
            FaultPlan.Rule(kind: .write, sticky: true, pathContains: "000002.log", before: note("write")),
            FaultPlan.Rule(kind: .truncate, sticky: true, pathContains: "000002.log", before: note("cut")),
        ])
        let db = try DB(path: path, options: options)
        defer { try? db.close() }
        let retired = try Self.writeRetireAndKeep(db)
        #expect(retired == 2)
        let operations = seen.withLock { $0 }
        #expect(operations.last == "cut")
        #expect(operations.dropLast().last == "sync", "\(operations.suffix(4))")
        #expect(operations.filter { $0 == "cut" }.count == 1)
    }

    /// A failed cut does not fail the switch (writes go on; a warning is
    /// logged), and the checkpoint still copies only the written bytes:
    /// the switch recorded the log's end.
    @Test func aFailedCutFailsNothingAndTheCheckpointStillCopiesOnlyTheWrittenBytes() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions()
        let plan = FaultPlan([FaultPlan.Rule(kind: .truncate, errno: EIO, sticky: true)])
        options.faultPlan = plan
        let logged = CapturingLogHandler.Store()
        options.logger = CapturingLogHandler.logger(logged)
        let db = try DB(path: path, options: options)
        let retired = try Self.writeRetireAndKeep(db)
        #expect(plan.injectedCount >= 1, "the cut was tried")
        let warnings = logged.with("retired WAL keeps its preallocated tail")
        #expect(warnings.count == plan.injectedCount && warnings.allSatisfy { $0.level == .warning })
        let logPath = FileNames.log(path, retired)
        let written = try Self.recordsEnd(logPath)
        #expect(try FileSystem.fileSize(logPath) > written.endBytes, "the failed cut left the tail")

        try db.checkpoint(to: dir.sub("cp"))
        #expect(try FileSystem.fileSize(FileNames.log(dir.sub("cp"), retired)) == written.endBytes)
        let checkpoint = try DB(path: dir.sub("cp"), options: openOptions())
        try Self.expectAllRows(checkpoint, "checkpoint")
        try checkpoint.close()
        try db.close()
    }

    /// A read-only database's checkpoint copies each log up to where its
    /// open's replay ended, a dropped (torn) tail included, and not the
    /// preallocated zeros of the log the last writing open left.
    @Test func aReadOnlyDatabasesCheckpointCopiesItsLogsToTheirReplayedEnd() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        for i in 0..<Self.rounds { try db.put("d\(i)", "dv\(i)") }
        try db.close()
        let log = FileNames.log(path, try #require(try Self.logNumbers(path).last))
        let written = try Self.recordsEnd(log)
        // A torn tail: bytes past the records, zeros between.
        let tornEnd = written.endBytes + 64 + 16
        var bytes = try readWholeFile(log)
        for i in 0..<16 { bytes[Int(written.endBytes) + 64 + i] = 0xAB }
        try writeWholeFile(log, bytes)
        #expect(try FileSystem.fileSize(log) > tornEnd)

        var readOnly = Options()
        readOnly.readOnly = true
        let source = try DB(path: path, options: readOnly)
        try source.checkpoint(to: dir.sub("cp"))
        try source.close()
        let copy = FileNames.log(dir.sub("cp"), try #require(try Self.logNumbers(path).last))
        #expect(try FileSystem.fileSize(copy) == tornEnd)
        let checkpoint = try DB(path: dir.sub("cp"), options: readOnly)
        defer { try? checkpoint.close() }
        for i in 0..<Self.rounds { #expect(try checkpoint.get("d\(i)") == "dv\(i)") }
        #expect(checkpoint.stats().recoveryDroppedBytes == tornEnd - written.endBytes, "the same tail dropped")
    }

    /// A read-only open without a LOCK (none, and none could be made on a
    /// read-only mount) excludes no writer. Here one still runs through a
    /// writable path (its LOCK file was removed by hand): after the reader
    /// replayed the log, the writer appends to it, retires it (kept for
    /// another keyspace) and writes to a newer one. The reader's
    /// checkpoint must not copy the old log only to where its replay
    /// ended while copying the newer one whole: that copy would open with
    /// later writes and without earlier ones. It copies both whole.
    /// Needs the privilege to mount (root here); skipped without it.
    @Test func anUnlockedReadOnlyCheckpointNeverCopiesALogShortBesideANewerOne() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let writer = try DB(path: path, options: openOptions())
        defer { try? writer.close() }
        let kept = try writer.keyspace("kept")
        for i in 0..<Self.rounds {
            try writer.put("d\(i)", "dv\(i)", options: WriteOptions(sync: true))
            try kept.put("k\(i)", "kv\(i)", options: WriteOptions(sync: true))
        }
        try FileSystem.remove(FileNames.lock(path))
        let mountPoint = dir.sub("ro")
        guard try mountReadOnlyView(of: path, at: mountPoint) else { return }
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let reader = try DB(path: mountPoint, options: ReadOnlyOpenTests.readOnly())
        defer { try? reader.close() }
        // The writer goes on: more in the replayed log, a switch that
        // retires it (kept: "kept" has data in it), more in the new log.
        for i in Self.rounds..<(2 * Self.rounds) {
            try writer.put("d\(i)", "dv\(i)", options: WriteOptions(sync: true))
            try kept.put("k\(i)", "kv\(i)", options: WriteOptions(sync: true))
        }
        try writer.flush()
        for i in (2 * Self.rounds)..<(3 * Self.rounds) {
            try writer.put("d\(i)", "dv\(i)", options: WriteOptions(sync: true))
        }
        try reader.checkpoint(to: dir.sub("cp"))
        let copy = try DB(path: dir.sub("cp"), options: ReadOnlyOpenTests.readOnly())
        defer { try? copy.close() }
        let copiedKept = try copy.keyspace("kept")
        // A prefix of the writer's history: if the newest write is there,
        // every earlier one is.
        if try copy.get("d\(3 * Self.rounds - 1)") != nil {
            for i in 0..<(3 * Self.rounds) { #expect(try copy.get("d\(i)") == "dv\(i)", "d\(i)") }
            for i in 0..<(2 * Self.rounds) { #expect(try copiedKept.get("k\(i)") == "kv\(i)", "k\(i)") }
        }
    }

    /// A log copied to a length the checkpoint needs must hold it: a file
    /// that ends sooner fails the copy (it used to end the copy quietly,
    /// short of records the copy's open would then miss).
    @Test func aCopyToALengthTheSourceDoesNotHoldFails() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        let source = dir.sub("source")
        try writeWholeFile(source, [UInt8](repeating: 7, count: 5000))
        try db.impl.copyFile(source, to: dir.sub("whole"), lengthBytes: nil)
        #expect(try FileSystem.fileSize(dir.sub("whole")) == 5000)
        try db.impl.copyFile(source, to: dir.sub("part"), lengthBytes: 3000)
        #expect(try FileSystem.fileSize(dir.sub("part")) == 3000)
        #expect(throws: DBError.self) { try db.impl.copyFile(source, to: dir.sub("long"), lengthBytes: 6000) }
    }

    /// A backup is made from a checkpoint: its copy of the kept log (and
    /// the restored one) holds the written bytes only.
    @Test func aBackupAndItsRestoreHoldOnlyTheRetiredLogsWrittenBytes() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        let retired = try Self.writeRetireAndKeep(db)
        let written = try Self.recordsEnd(FileNames.log(path, retired))
        let info = try db.backup(to: dir.sub("backups"))
        let name = FileSystem.baseName(FileNames.log(path, retired))
        #expect(try FileSystem.fileSize(dir.sub("backups") + "/private/\(info.id)/" + name) == written.endBytes)
        try db.close()

        try DB.restore(from: dir.sub("backups"), id: info.id, to: dir.sub("restored"))
        #expect(try FileSystem.fileSize(FileNames.log(dir.sub("restored"), retired)) == written.endBytes)
        let restored = try DB(path: dir.sub("restored"), options: openOptions())
        try Self.expectAllRows(restored, "restored")
        try restored.close()
    }

    /// A reader that opened the log while it was live, with its old size,
    /// reads it to the new end after the cut: every record, a clean end
    /// (a follower's catch-up reads the primary's logs this way).
    @Test func aLogReaderOpenedBeforeTheCutReadsTheWholeLogToItsNewEnd() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        defer { try? db.close() }
        var early: LogReader?
        var earlyForFeed: LogReader?
        let retired = try Self.writeRetireAndKeep(db) {
            let live = FileNames.log(path, try #require(try Self.logNumbers(path).last))
            early = try LogReader(path: live, backend: IOBackends.makeDefault())
            earlyForFeed = try LogReader(path: live, backend: IOBackends.makeDefault())
        }
        let reader = try #require(early)
        let written = try Self.recordsEnd(FileNames.log(path, retired))
        #expect(reader.sizeBytes > Int(written.endBytes), "opened with the preallocated size")

        var records = 0
        let ending = try reader.read(evidence: .syncPoints, strict: true) { record in
            if !record.isSyncPoint { records += 1 }
        }
        #expect(records == written.records)
        #expect(ending.validBytes == written.endBytes && ending.dropped == nil)
        #expect(reader.sizeBytes == Int(written.endBytes))

        // The change feed's read of a closed log (no published limit).
        var feedRecords = 0
        let end = try #require(earlyForFeed).readRecords(from: 0, limit: nil) { record in
            if !record.isSyncPoint { feedRecords += 1 }
        }
        #expect(end == Int(written.endBytes) && feedRecords == written.records)
    }

    /// A change feed that read the log while it was live goes on across
    /// the cut and the next log: every batch, in order.
    @Test func aChangeFeedReadsEveryBatchAcrossTheRetiredLog() async throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try await DB(path: path, options: openOptions())
        defer { try? db.close() }
        let kept = try await db.keyspace("kept")
        var feed = db.changes(since: 0).makeAsyncIterator()
        var sequences: [UInt64] = []
        func read(upTo count: Int) async throws {
            while sequences.count < count, let batch = try await feed.next() { sequences.append(batch.sequence) }
        }
        for i in 0..<Self.rounds {
            try await db.put("d\(i)", "dv\(i)")
            try await kept.put("k\(i)", "kv\(i)")
        }
        try await read(upTo: Self.rounds)  // part of the live log
        try await db.flush()
        #expect(try Self.logNumbers(path).count >= 2, "the retired log is kept")
        for i in Self.rounds..<(2 * Self.rounds) {
            try await db.put("d\(i)", "dv\(i)")
            try await kept.put("k\(i)", "kv\(i)")
        }
        try await read(upTo: 4 * Self.rounds)
        #expect(sequences == Array(1...UInt64(4 * Self.rounds)))
        // A feed started after the cut reads it from the start.
        var late = db.changes(since: 0).makeAsyncIterator()
        var lateCount = 0
        while lateCount < 4 * Self.rounds, try await late.next() != nil { lateCount += 1 }
        #expect(lateCount == 4 * Self.rounds)
    }

    /// A follower catching up across the cut sees every row.
    @Test func aFollowerCatchesUpAcrossTheRetiredLog() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        defer { try? db.close() }
        var follower: DB?
        _ = try Self.writeRetireAndKeep(db) { follower = try DB(followerOf: path) }
        let view = try #require(follower)
        defer { try? view.close() }
        try view.catchUp()
        try Self.expectAllRows(view, "follower")
    }
}
