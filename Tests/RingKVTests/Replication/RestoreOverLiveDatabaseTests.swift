import RingIO
import Testing
@testable import RingKV

/// `DB.restore(…, overwrite: true)` onto a database that is open (its
/// LOCK held, in this process or another) is refused with
/// `DBError.locked` before anything is removed: the open database keeps
/// every file and every acknowledged write.
@Suite struct RestoreOverLiveDatabaseTests {
    @Test func restoreOverAnOpenDatabaseIsRefusedAndRemovesNothing() throws {
        let dir = try TempDir()
        let source = try DB(path: dir.sub("source"), options: openOptions())
        try source.put(bytes("from"), bytes("backup"))
        let info = try source.backup(to: dir.sub("backups"))
        try source.close()

        let livePath = dir.sub("live")
        let live = try DB(path: livePath, options: openOptions(memtableBytes: 64 << 10))
        for i in 0..<2000 { try live.put(bytes("k\(i)"), [UInt8](repeating: 3, count: 100)) }
        try live.flush()
        try live.put(bytes("last"), bytes("write"))
        #expect(throws: DBError.locked(path: livePath)) {
            try DB.restore(from: dir.sub("backups"), id: info.id, to: livePath, overwrite: true)
        }
        // Its own compactions may have changed its tables meanwhile; its
        // CURRENT, MANIFEST and WAL are all still there.
        let names = try FileSystem.listDirectory(livePath)
        #expect(names.contains("CURRENT") && names.contains { $0.hasPrefix("MANIFEST") }
                && names.contains { $0.hasSuffix(".log") }, "\(names)")
        #expect(!FileSystem.exists(livePath + ".restoring"))
        try live.close()
        let reopened = try DB(path: livePath, options: openOptions())
        #expect(try reopened.get(bytes("k1999")) == [UInt8](repeating: 3, count: 100))
        #expect(try reopened.get(bytes("last")) == bytes("write"))
        #expect(try reopened.get(bytes("from")) == nil)
        try reopened.close()
        // Closed, it may be overwritten.
        try DB.restore(from: dir.sub("backups"), id: info.id, to: livePath, overwrite: true)
        let restored = try DB(path: livePath, options: openOptions())
        defer { try? restored.close() }
        #expect(try restored.get(bytes("from")) == bytes("backup"))
        #expect(try restored.get(bytes("last")) == nil)
    }
}
