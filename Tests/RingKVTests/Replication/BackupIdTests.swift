import RingIO
import Testing
@testable import RingKV

/// A backup's id is one past the largest id in the directory's `meta/`:
/// a file there named by the largest UInt64 leaves no next id, which is an
/// error naming it (never a trap), and changes nothing.
@Suite struct BackupIdTests {
    @Test func aMetaFileNamedByTheLargestIdIsAnErrorNotATrap() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        try db.put(bytes("k"), bytes("v"))
        let first = try db.backup(to: dir.sub("backups"))
        #expect(first.id == 1)
        let stray = dir.sub("backups") + "/meta/\(UInt64.max)"
        try BackupFileCopy.writeDurably(Array("not a backup\n".utf8), to: stray, backend: IOBackends.makeDefault())
        do {
            _ = try db.backup(to: dir.sub("backups"))
            Issue.record("a backup was made past id UInt64.max")
        } catch {
            #expect("\(error)".contains("\(UInt64.max)"), "\(error)")
        }
        try FileSystem.remove(stray)
        #expect(try DB.backups(in: dir.sub("backups")).map(\.id) == [1])
        #expect(try db.backup(to: dir.sub("backups")).id == 2)
    }
}
