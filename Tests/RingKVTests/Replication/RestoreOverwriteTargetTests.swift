import Glibc
import RingIO
import Testing
@testable import RingKV

/// `DB.restore(…, overwrite: true)` replaces only a RingKV database
/// directory or an empty directory. A directory holding anything else, a
/// file, a symbolic link, the backup directory (or a path inside it, or
/// one holding it) is refused with nothing removed; before, overwrite ran
/// removeTree on whatever it was given.
@Suite struct RestoreOverwriteTargetTests {
    static func backedUp(_ dir: TempDir) throws -> String {
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put(bytes("from"), bytes("backup"))
        _ = try db.backup(to: dir.sub("backups"))
        try db.close()
        return dir.sub("backups")
    }

    static func write(_ path: String, _ text: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        try #require(fd >= 0)
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, text.utf8.count) }
        close(fd)
    }

    @Test func aDirectoryThatIsNoDatabaseIsNotReplaced() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let home = dir.sub("home")
        try FileSystem.createDirectory(home + "/projects")
        try Self.write(home + "/notes.txt", "keep me")
        #expect { try DB.restore(from: backups, id: 1, to: home, overwrite: true) } throws: { error in
            guard case DBError.invalidArgument = error else { return false }
            return true
        }
        #expect(try FileSystem.listDirectory(home).sorted() == ["notes.txt", "projects"])
        // A stray CURRENT does not make it a database.
        try Self.write(home + "/CURRENT", "MANIFEST-000001\n")
        #expect { try DB.restore(from: backups, id: 1, to: home, overwrite: true) } throws: { error in
            guard case DBError.invalidArgument(let why) = error else { return false }
            return why.contains("notes.txt")
        }
        #expect(try FileSystem.listDirectory(home).sorted() == ["CURRENT", "notes.txt", "projects"])
        #expect(!FileSystem.exists(home + ".restoring"))
    }

    @Test func aFileOrASymbolicLinkIsNotReplaced() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let file = dir.sub("file")
        try Self.write(file, "keep me")
        #expect(throws: DBError.notADirectory(path: file)) {
            try DB.restore(from: backups, id: 1, to: file, overwrite: true)
        }
        #expect(try FileSystem.fileSize(file) == 7)
        // A link to a database: removeTree followed it and emptied the database.
        let link = dir.sub("link")
        try #require(symlink(dir.sub("db"), link) == 0)
        #expect { try DB.restore(from: backups, id: 1, to: link, overwrite: true) } throws: { error in
            guard case DBError.invalidArgument = error else { return false }
            return true
        }
        #expect(FileSystem.exists(dir.sub("db") + "/CURRENT"))
    }

    @Test func theBackupDirectoryIsNeverTheTarget() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let metaBefore = try FileSystem.listDirectory(backups + "/meta")
        for target in [backups, backups + "/", backups + "/shared", backups + "/new", dir.sub("x/../backups"), dir.path] {
            #expect(throws: DBError.self, "\(target)") {
                try DB.restore(from: backups, id: 1, to: target, overwrite: true)
            }
            #expect(try FileSystem.listDirectory(backups + "/meta") == metaBefore, "\(target)")
            #expect(!FileSystem.exists(backups + "/new"))
        }
        #expect { try DB.restore(from: backups, id: 1, to: backups, overwrite: true) } throws: { error in
            guard case DBError.invalidArgument(let why) = error else { return false }
            return why.contains("backup directory")
        }
        try DB.verifyBackup(in: backups, id: 1)
    }

    @Test func aClosedDatabaseOrAnEmptyDirectoryIsReplaced() throws {
        let dir = try TempDir()
        let backups = try Self.backedUp(dir)
        let empty = dir.sub("empty")
        try FileSystem.createDirectory(empty)
        try DB.restore(from: backups, id: 1, to: empty, overwrite: true)
        let other = try DB(path: dir.sub("other"), options: openOptions(memtableBytes: 64 << 10))
        for i in 0..<2000 { try other.put(bytes("k\(i)"), [UInt8](repeating: 1, count: 100)) }
        try other.close()
        try DB.restore(from: backups, id: 1, to: dir.sub("other"), overwrite: true)
        for path in [empty, dir.sub("other")] {
            let db = try DB(path: path, options: openOptions())
            #expect(try db.get(bytes("from")) == bytes("backup"))
            #expect(try db.get(bytes("k1")) == nil)
            try db.close()
        }
    }
}
