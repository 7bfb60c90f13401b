import Glibc
import Testing
import RingIO
@testable import RingKV

/// `kvctl changes --since N` (escaped and --hex output of binary keys and
/// values, keyspace names, every operation kind) and `kvctl backup
/// create|list|verify|restore|delete` (a damaged file named, exit status).
@Suite struct ReplicationCommandTests {
    @Test func changesPrintsEveryOperationBinarySafe() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = libraryOptions()
        options.changeRetentionBytes = 1 << 30
        let db = try DB(path: path, options: options)
        let users = try db.keyspace("users")
        try db.put([0x61, 0x09, 0x62], [0x0a, 0x00, 0xff])
        try users.delete(Array("u\\1".utf8))
        try db.deleteRange(from: Array("a".utf8), to: Array("b".utf8))
        try db.close()
        let run = try Kvctl.run(["--db", path, "changes", "--since", "0"])
        #expect(run.status == 0, "stderr: \(run.err)")
        #expect(lines(run.out) == [
            "1\tput\tdefault\ta\\tb\t\\n\\x00\\xff",
            "2\tdelete\tusers\tu\\\\1",
            "3\tdelete-range\tdefault\ta\tb",
        ])
        let hex = try Kvctl.run(["--db", path, "--hex", "changes", "--since", "1", "--limit", "1"])
        #expect(lines(hex.out) == ["2\tdelete\tusers\t755c31"])
        // A limit below 1 is a usage error, not an empty listing.
        for bad in ["0", "-5"] {
            let refused = try Kvctl.run(["--db", path, "changes", "--since", "0", "--limit=\(bad)"])
            #expect(refused.status != 0 && refused.out.isEmpty && refused.err.contains("--limit"), "\(bad): \(refused)")
        }
    }

    @Test func backupCommandsCreateListVerifyRestoreAndNameADamagedFile() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: libraryOptions())
        for i in 0..<500 { try db.put(Array("key\(i)".utf8), Array("value\(i)".utf8)) }
        try db.flush()
        try db.close()
        let backups = dir.sub("backups")
        let created = try Kvctl.run(["--db", path, "backup", "create", backups])
        #expect(created.status == 0, "stderr: \(created.err)")
        #expect(created.out.hasPrefix("backup 1 sequence 500 "))
        let listed = try Kvctl.run(["backup", "list", backups])
        #expect(lines(listed.out).count == 1)
        #expect(try Kvctl.run(["backup", "verify", backups, "1"]).status == 0)
        #expect(try Kvctl.run(["backup", "restore", backups, "1", dir.sub("restored")]).status == 0)
        #expect(try contents(of: dir.sub("restored")).count == 500)
        let again = try Kvctl.run(["backup", "restore", backups, "1", dir.sub("restored")])
        #expect(again.status != 0)
        #expect(again.err.contains("already exists"))
        let table = try files(in: backups + "/shared", suffix: ".sst")[0]
        try flipByte(table, at: 100)
        let damaged = try Kvctl.run(["backup", "verify", backups, "1"])
        #expect(damaged.status != 0)
        #expect(damaged.err.contains(table))
        #expect(try Kvctl.run(["backup", "delete", backups, "1"]).status == 0)
        #expect(try Kvctl.run(["backup", "list", backups]).out == "")
    }
}
