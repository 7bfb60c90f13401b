import RingIO
import Testing
@testable import RingKV

/// A backup's meta file states each file's size as a decimal UInt64: a
/// meta file (checksum intact) whose sizes add up past 2^64 is listed with
/// a saturated total, and verify reports the size mismatch — no trap.
@Suite struct BackupMetaSizesTests {
    @Test func sizesAddingUpPastUInt64MaxAreListedNotTrapped() throws {
        let dir = try TempDir()
        let backups = dir.sub("backups")
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(bytes("k"), bytes("v"))
        try db.flush()
        _ = try db.backup(to: backups)
        try db.close()
        var meta = try BackupDirectory(path: backups, backend: IOBackends.makeDefault()).meta(1)
        #expect(meta.entries.count >= 2)
        for i in meta.entries.indices { meta.entries[i].sizeBytes = UInt64.max / 2 + 1 }
        try FileSystem.remove(backups + "/meta/1")
        try BackupFileCopy.writeDurably(meta.encoded(), to: backups + "/meta/1", backend: IOBackends.makeDefault())
        let listed = try DB.backups(in: backups)
        #expect(listed.map(\.totalBytes) == [UInt64.max])
        #expect(throws: DBError.self) { try DB.verifyBackup(in: backups, id: 1) }
    }
}
