import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Restore and listing given what they should refuse: a full disk part way
/// through a restore, a meta file (checksum intact, edited by hand) naming
/// a file outside a database's names, a path that is no backup directory.
/// Each is an error naming the problem; nothing is left half made.
@Suite struct BackupRestoreInputTests {
    /// A database with one backup in `dir/backups`.
    static func backedUp(_ dir: TempDir) throws -> String {
        let db = try DB(path: dir.sub("db"), options: openOptions())
        for i in 0..<100 { try db.put(bytes("k\(i)"), bytes("v\(i)")) }
        try db.flush()
        try db.put(bytes("after"), bytes("flush"))
        _ = try db.backup(to: dir.sub("backups"))
        try db.close()
        return dir.sub("backups")
    }

    @Test func aFullDiskPartWayThroughARestoreLeavesNoHalfCopiedDirectory() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let target = dir.sub("restored")
        // The first file is copied, every later write fails (the verify
        // before the copies only reads).
        let full = FaultPlan([FaultPlan.Rule(kind: .write, nth: 2, errno: ENOSPC, sticky: true)])
        #expect { try DB.restore(from: backups, id: 1, to: target, overwrite: false,
                                 backend: full.wrap(IOBackends.makeDefault())) }
            throws: { ($0 as? DBError)?.isNoSpace == true }
        #expect(full.injectedCount >= 1)
        #expect(!FileSystem.exists(target + ".restoring"))
        #expect(!FileSystem.exists(target))
        try DB.restore(from: backups, id: 1, to: target)
        let db = try DB(path: target, options: openOptions())
        #expect(try db.scan().count == 101)
        try db.close()
    }

    @Test func aMetaFileNamingAFileOutsideADatabaseIsRefused() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let backend = IOBackends.makeDefault()
        let original = try BackupDirectory(path: backups, backend: backend).meta(1)
        for name in ["..", ".", "LOCK", "000009.tmp", "notes.txt"] {
            var meta = original
            meta.entries[0].name = name
            try BackupFileCopy.writeDurably(meta.encoded(), to: backups + "/meta/1", backend: backend)
            let error = try #require(throws: DBError.self) { try DB.restore(from: backups, id: 1, to: dir.sub("t")) }
            guard case .backupCorrupted(let path, _) = error else { Issue.record("\(name): \(error)"); continue }
            #expect(path == backups + "/meta/1")
            #expect(!FileSystem.exists(dir.sub("t")) && !FileSystem.exists(dir.sub("t") + ".restoring"))
        }
    }

    @Test func listingAPathThatIsNoBackupDirectoryIsAnError() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        #expect(try DB.backups(in: backups).map(\.id) == [1])
        for path in [dir.sub("missing"), dir.sub("db")] {
            let error = try #require(throws: DBError.self) { try DB.backups(in: path) }
            guard case .notADirectory = error else { Issue.record("\(path): \(error)"); continue }
        }
    }
}

extension BackupRestoreInputTests {
    /// `meta/` holds files named by their id in decimal; a copy under
    /// another spelling of the id ("01", "+1") is not a backup: listed
    /// once, and the backup deleted is gone from the listing.
    @Test func aMetaFileCopiedUnderAnotherSpellingOfItsIdIsNotABackup() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let meta = try readWholeFile(backups + "/meta/1")
        for name in ["01", "+1"] { try writeWholeFile(backups + "/meta/" + name, meta) }
        #expect(try DB.backups(in: backups).map(\.id) == [1])
        try DB.deleteBackup(in: backups, id: 1)
        #expect(try DB.backups(in: backups).map(\.id) == [])
    }
}

extension BackupRestoreInputTests {
    /// A target spelled with a trailing slash (shell completion adds one)
    /// names the same directory: `TARGET.restoring` goes beside it, not
    /// inside it — inside, an overwrite removed it with the old target and
    /// then failed, leaving neither.
    @Test func aTargetWithATrailingSlashIsRestoredAndOverwritten() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let target = dir.sub("restored") + "/"
        try DB.restore(from: backups, id: 1, to: target)
        try DB.restore(from: backups, id: 1, to: target, overwrite: true)
        let db = try DB(path: dir.sub("restored"), options: openOptions())
        #expect(try db.scan().count == 101)
        try db.close()
        #expect(try FileSystem.listDirectory(dir.path).sorted() == ["backups", "db", "restored"])
    }
}
