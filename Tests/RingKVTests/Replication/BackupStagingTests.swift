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
