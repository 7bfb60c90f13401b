import RingIO
import Testing
@testable import RingKV

/// A backup directory stores tables as `<number>-<size>-<crc32c>` and a
/// later backup reuses a stored one (Backup/BackupDirectory.swift). A
/// database restored from that directory and backed up into it again
/// numbers its new tables as the original did after the backup it came
/// from: a table of the same number and size but other contents must not
/// be taken for the stored one (it was, by number and size alone, and the
/// new backup restored the original's rows, verify passing).
@Suite struct BackupSharedTableIdentityTests {
    static func options() -> Options {
        var options = openOptions()
        options.compression = false
        return options
    }

    static func write(_ db: DB, _ fill: UInt8, step: Int) throws {
        for i in 0..<500 {
            try db.put(bytes(String(format: "s\(step)-k%04d", i)), [UInt8](repeating: fill, count: 100))
        }
        try db.flush()
    }

    @Test func aRestoredDatabasesBackupKeepsItsOwnTables() throws {
        let dir = try TempDir()
        let backups = dir.sub("backups")
        let original = try DB(path: dir.sub("original"), options: Self.options())
        defer { try? original.close() }
        try original.put(bytes("start"), bytes("1"))
        try original.flush()
        let first = try original.backup(to: backups)
        try DB.restore(from: backups, id: first.id, to: dir.sub("restored"))
        let restored = try DB(path: dir.sub("restored"), options: Self.options())
        defer { try? restored.close() }
        let tables = { (path: String) in try FileSystem.listDirectory(path).filter { $0.hasSuffix(".sst") }.sorted() }
        for step in 0..<4 {
            try Self.write(original, UInt8(ascii: "a"), step: step)
            if step == 1 { try original.compactRange() }
            try Self.write(restored, UInt8(ascii: "b"), step: step)
            print("step \(step): tables of the original \(try tables(dir.sub("original"))), "
                  + "of the restored \(try tables(dir.sub("restored")))")
        }
        // The case at hand: tables of the same number and size in both.
        let collisions = try Set(tables(dir.sub("original"))).intersection(tables(dir.sub("restored"))).filter {
            try FileSystem.fileSize(dir.sub("original") + "/" + $0)
                == FileSystem.fileSize(dir.sub("restored") + "/" + $0)
        }
        #expect(!collisions.isEmpty, "no table of the same number and size: the test proves nothing")
        _ = try original.backup(to: backups)
        let third = try restored.backup(to: backups)
        try DB.verifyBackup(in: backups, id: third.id)
        try DB.restore(from: backups, id: third.id, to: dir.sub("again"))
        let again = try DB(path: dir.sub("again"), options: Self.options())
        defer { try? again.close() }
        // Every row of the restored database, read back from its backup.
        let want = try restored.scan()
        let got = try again.scan()
        let differing = zip(want, got).first { $0.key != $1.key || $0.value != $1.value }
        print("restored \(want.count) rows, its backup \(got.count); first differing key: "
              + (differing.map { String(decoding: $0.0.key, as: UTF8.self) } ?? "none"))
        #expect(got.map(\.key) == want.map(\.key) && got.map(\.value) == want.map(\.value))
    }
}
