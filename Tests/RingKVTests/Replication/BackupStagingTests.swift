import RingIO
import Testing
@testable import RingKV

/// Two backups of one database into two backup directories at once: both
/// take id 1, and each stages its checkpoint beside the database under a
/// name of its own — with one shared name, each removed or wrote into the
/// other's checkpoint and both failed (or listed a half-made one).
@Suite struct BackupStagingTests {
    @Test func concurrentBackupsIntoTwoDirectoriesBothRestoreEveryRow() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions(memtableBytes: 64 << 10))
        defer { try? db.close() }
        for i in 0..<3000 { try db.put(bytes("k\(i)"), Array(repeating: UInt8(i & 0xff), count: 100)) }
        try db.flush()
        let expected = try db.scan().count
        let targets = [dir.sub("backupsA"), dir.sub("backupsB")]
        let failures = Locked<[String]>([])
        let threads = targets.map { target in
            BackupTestThread {
                do { _ = try db.backup(to: target) } catch { failures.withLock { $0.append("\(target): \(error)") } }
            }
        }
        for thread in threads { thread.join() }
        #expect(failures.withLock { $0 } == [])
        for target in targets {
            let restored = target + "-restored"
            try DB.restore(from: target, id: 1, to: restored)
            let copy = try DB(path: restored, options: openOptions())
            #expect(try copy.scan().count == expected)
            try copy.close()
        }
    }
}

/// Two restores to one new target at once: one restores every row, the
/// other is refused (`locked` while the first holds `TARGET.restoring`,
/// `alreadyExists` once the first is in place). Both shared that
/// directory unlocked: each removed or wrote into the other's copies, and
/// one could report success for a target missing tables.
@Suite struct RestoreStagingTests {
    @Test func concurrentRestoresToOneTargetRestoreOnceAndRefuseTheOther() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions(memtableBytes: 64 << 10))
        for i in 0..<20000 { try db.put(bytes("k\(i)"), Array(repeating: UInt8(i & 0xff), count: 100)) }
        try db.flush()
        let expected = try db.scan().count
        let backups = dir.sub("backups")
        _ = try db.backup(to: backups)
        try db.close()
        for round in 0..<4 {
            let target = dir.sub("restored\(round)")
            let outcomes = Locked<[String]>([])
            let threads = (0..<2).map { _ in
                BackupTestThread {
                    do {
                        try DB.restore(from: backups, id: 1, to: target)
                        outcomes.withLock { $0.append("ok") }
                    } catch DBError.locked, DBError.alreadyExists {
                        outcomes.withLock { $0.append("refused") }
                    } catch {
                        outcomes.withLock { $0.append("\(error)") }
                    }
                }
            }
            for thread in threads { thread.join() }
            #expect(outcomes.withLock { $0.sorted() } == ["ok", "refused"], "round \(round)")
            let copy = try DB(path: target, options: openOptions())
            #expect(try copy.scan().count == expected, "round \(round)")
            try copy.close()
            #expect(!FileSystem.exists(target + ".restoring"))
        }
    }
}
