import Glibc
import RingIO
import Testing
@testable import RingKV

/// A backup killed part way leaves its staging checkpoint
/// (`PATH.backup-PID-ID-N`) beside the database. The next backup removes
/// those whose process is gone, and those of its own pid that no backup
/// here runs (a dead process had the pid); it keeps a live process's and
/// names it does not make. Before, they stayed forever (hard links
/// pinning deleted tables' space).
@Suite struct BackupStaleStagingTests {
    /// A pid no process has: pids are below pid_max.
    static func deadPid() throws -> Int32 {
        let fd = open("/proc/sys/kernel/pid_max", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &buffer, buffer.count)
        let text = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self).split(separator: "\n").first ?? ""
        return try #require(Int32(text))
    }

    @Test func aBackupRemovesStagingDirectoriesOfGoneBackups() throws {
        let dir = try TempDir()
        let dbPath = dir.sub("db")
        let db = try DB(path: dbPath, options: openOptions())
        defer { try? db.close() }
        try db.put(bytes("k"), bytes("v"))
        try db.flush()
        let dead = try Self.deadPid()
        let stale = [dbPath + ".backup-\(dead)-1-1",        // a killed process's
                     dbPath + ".backup-\(dead)-3",          // an earlier build's name
                     dbPath + ".backup-\(getpid())-7-900"]  // this pid, no backup of this process
        for path in stale { try db.checkpoint(to: path) }
        let kept = [dbPath + ".backup-1-1-1",               // pid 1 is alive
                    dbPath + ".backup-notes"]               // not a staging name
        for path in kept { try FileSystem.createDirectory(path + "/inside") }

        _ = try db.backup(to: dir.sub("backups"))
        for path in stale { #expect(!FileSystem.exists(path), "\(path)") }
        for path in kept { #expect(FileSystem.exists(path + "/inside"), "\(path)") }
        #expect(try FileSystem.listDirectory(dir.path).filter { $0.hasPrefix("db.backup-") }.sorted()
                == ["db.backup-1-1-1", "db.backup-notes"])
        try DB.restore(from: dir.sub("backups"), id: 1, to: dir.sub("restored"))
        let copy = try DB(path: dir.sub("restored"), options: openOptions())
        #expect(try copy.get(bytes("k")) == bytes("v"))
        try copy.close()
    }

    /// One in use by a backup of this process is never removed.
    @Test func aStagingDirectoryInUseHereIsKept() throws {
        let dir = try TempDir()
        let dbPath = dir.sub("db")
        let db = try DB(path: dbPath, options: openOptions())
        defer { try? db.close() }
        let live = BackupStaging.begin(dbPath: dbPath, id: 1)
        defer { BackupStaging.finish(live) }
        try db.checkpoint(to: live)
        _ = try db.backup(to: dir.sub("backups"))
        #expect(FileSystem.exists(live + "/CURRENT"))
    }
}
