import Glibc
import RingIO
import RingIOFaults
import Synchronization
import Testing
@testable import RingKV

/// A backup in progress and a deletion of an older backup in the same
/// directory: the deletion removes the shared tables no finished backup
/// names, and the one in progress names them in its meta file only at its
/// end. A deletion while a backup runs is refused (the directory is
/// locked), so the backup never names a table that is gone.
@Suite struct BackupDirectoryLockTests {
    @Test func deletingABackupWhileAnotherIsMadeIsRefusedAndTheNewOneRestores() throws {
        let dir = try TempDir()
        let backups = dir.sub("backups")
        let plan = FaultPlan()
        var options = openOptions()
        options.faultPlan = plan
        let db = try DB(path: dir.sub("db"), options: options)
        defer { try? db.close() }
        for i in 0..<1000 { try db.put(bytes(String(format: "k%04d", i)), [UInt8](repeating: 1, count: 100)) }
        try db.flush()
        let first = try db.backup(to: backups)
        try db.put(bytes("after"), bytes("first"))
        // At the next backup's first read of its checkpoint (after it
        // listed the tables the directory holds), backup 1 — the only one
        // naming the table both hold — is deleted.
        let deletion = Mutex<String?>(nil)
        plan.add(FaultPlan.Rule(kind: .read, pathContains: ".backup-", before: {
            do {
                try DB.deleteBackup(in: backups, id: first.id)
                deletion.withLock { $0 = "deleted" }
            } catch {
                deletion.withLock { $0 = "\(error)" }
            }
        }))
        let second = try db.backup(to: backups)
        print("deletion during the backup: \(deletion.withLock { $0 } ?? "did not run")")
        #expect(deletion.withLock { $0 } != nil, "the deletion did not run during the backup")
        // Whatever the deletion did, the backup that returned restores.
        try DB.verifyBackup(in: backups, id: second.id)
        // Once the backup is done, backup 1 can go, and backup 2 stays whole.
        if try DB.backups(in: backups).contains(where: { $0.id == first.id }) {
            try DB.deleteBackup(in: backups, id: first.id)
        }
        try DB.verifyBackup(in: backups, id: second.id)
        try DB.restore(from: backups, id: second.id, to: dir.sub("restored"))
        let restored = try DB(path: dir.sub("restored"), options: openOptions())
        defer { try? restored.close() }
        #expect(try restored.get(bytes("k0999")) == [UInt8](repeating: 1, count: 100))
        #expect(try restored.get(bytes("after")) == bytes("first"))
    }
}
