import Glibc
import Testing
import RingIO
@testable import RingKV

/// kvctl's get, scan, export, stats and verify open read-only (issue #13
/// item 5): they work on a full disk, and beside each other.
@Suite("kvctl read-only commands")
struct ReadOnlyCommandTests {
    /// A size-limited filesystem (tmpfs) mounted at `path` for `body`, or
    /// nil when this process may not mount (not root): the library test
    /// `ReadOnlyOpenTests` covers the full disk with injected ENOSPC then.
    static func withSmallFilesystem<R>(at path: String, sizeBytes: Int, _ body: () throws -> R) throws -> R? {
        try FileSystem.createDirectory(path)
        guard geteuid() == 0, mount("ringkv-test", path, "tmpfs", 0, "size=\(sizeBytes)") == 0 else {
            print("note: cannot mount a tmpfs here (errno \(errno)); full-filesystem kvctl test skipped")
            return nil
        }
        defer { umount2(path, Int32(MNT_DETACH)) }
        return try body()
    }

    /// A closed database at `dir`/db holding k0…k99 = v0…v99; its path.
    static func hundredKeys(in dir: TempDir) throws -> String {
        let path = dir.sub("db")
        let db = try DB(path: path, options: libraryOptions())
        for i in 0..<100 { try db.put("k\(i)", "v\(i)") }
        try db.close()
        return path
    }

    @Test func aFullFilesystemStillGetsScansAndExportsEveryAcknowledgedKey() throws {
        let dir = try TempDir()
        _ = try Self.withSmallFilesystem(at: dir.sub("fs"), sizeBytes: 4 << 20) {
            let path = dir.sub("fs/db")
            var options = libraryOptions()
            options.memtableSizeBytes = 256 << 10
            var acknowledged: [String: String] = [:]
            let db = try DB(path: path, options: options)
            var rng = SeededRandom(seed: 15)
            var i = 0
            while true {
                // Hex of random bytes: LZ4 cannot shrink it much, so the
                // filesystem fills after a few thousand writes.
                let value = (0..<400).map { _ in String(UInt8.random(in: 0...255, using: &rng), radix: 16) }.joined()
                let key = "key\(i)"
                do {
                    try db.put(key, value, options: WriteOptions(sync: i % 10 == 0))
                } catch {
                    #expect((error as? DBError)?.isNoSpace == true || "\(error)".contains("read-only"), "\(error)")
                    break
                }
                acknowledged[key] = value
                i += 1
            }
            try? db.close()
            // Fill what is left, so not one more block can be allocated.
            let filler = try File.open(dir.sub("fs/filler"), [.write, .create])
            var block = [UInt8](repeating: 1, count: 4096), at: UInt64 = 0
            while (try? block.withUnsafeBytes { try PosixBackend().write(fd: filler.fd, from: $0, offset: at) }) != nil {
                at += 4096
            }
            block = [1]
            while (try? block.withUnsafeBytes { try PosixBackend().write(fd: filler.fd, from: $0, offset: at) }) != nil {
                at += 1
            }
            try filler.close()
            #expect(acknowledged.count > 100, "the filesystem filled after \(acknowledged.count) writes")

            // A writing open cannot even start; the read-only commands work.
            #expect(try Kvctl.run(["--db", path, "put", "one", "more"]).status != 0)
            let get = try Kvctl.run(["--db", path, "get", "key7"])
            #expect(get.status == 0 && get.out == acknowledged["key7"].map { $0 + "\n" }, "\(get.err)")
            let export = try Kvctl.run(["--db", path, "export"])
            #expect(export.status == 0, "\(export.err)")
            var exported: [String: String] = [:]
            for line in lines(export.out) {
                let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
                if parts.count == 2 { exported[parts[0]] = parts[1] }
            }
            for (key, value) in acknowledged where exported[key] != value {
                Issue.record("export lost or changed acknowledged \(key)")
                break
            }
            #expect(exported.count <= acknowledged.count + 1, "at most the failed write may be there too")
            let scan = try Kvctl.run(["--db", path, "scan", "--limit", "3"])
            #expect(scan.status == 0 && lines(scan.out).count == 3, "\(scan.err)")
            #expect(try Kvctl.run(["--db", path, "stats"]).status == 0)
            #expect(try Kvctl.run(["--db", path, "verify"]).status != 4)
        }
    }

    /// Two read-only processes at once: this one holds the database open
    /// read-only while kvctl reads it; a writer is refused meanwhile.
    @Test func readersShareTheDatabaseAndAWriterWaitsForThem() throws {
        let dir = try TempDir()
        let path = try Self.hundredKeys(in: dir)
        var options = Options()
        options.readOnly = true
        let reader = try DB(path: path, options: options)
        #expect(try Kvctl.run(["--db", path, "get", "k42"]).out == "v42\n")
        #expect(lines(try Kvctl.run(["--db", path, "export"]).out).count == 100)
        #expect(try Kvctl.run(["--db", path, "scan", "--prefix", "k9"]).status == 0)
        #expect(try Kvctl.run(["--db", path, "stats"]).status == 0)
        #expect(try Kvctl.run(["--db", path, "verify"]).status == 0)
        let put = try Kvctl.run(["--db", path, "put", "k1", "changed"])
        #expect(put.status != 0 && put.err.contains("locked"), "\(put.err)")
        #expect(try reader.get("k1") == "v1")
        try reader.close()
        #expect(try Kvctl.run(["--db", path, "put", "k1", "changed"]).status == 0)
    }

    /// A read-only open creates a missing LOCK file (issue #21 item 3),
    /// owned by its user and readable by others only. A writer running as
    /// another user, who may write the directory but not that file, still
    /// opens the database: flock needs only read access, so it takes the
    /// exclusive lock through a read-only descriptor. Runs kvctl as nobody
    /// through setpriv when the tests run as root; skipped otherwise.
    @Test func aLockFileAnotherUserCreatedDoesNotKeepAWriterOut() throws {
        guard geteuid() == 0, FileSystem.exists("/usr/bin/setpriv") else { return }
        let dir = try TempDir()
        let path = try Self.hundredKeys(in: dir)
        try FileSystem.remove(path + "/LOCK")
        var options = Options()
        options.readOnly = true
        try DB(path: path, options: options).close()
        #expect(FileSystem.exists(path + "/LOCK"), "the read-only open created no LOCK")
        chmod(path + "/LOCK", 0o644)
        chmod(dir.path, 0o755)
        chmod(path, 0o777)
        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let put = try Kvctl.run(raw: ["--db", path, "put", "k1", "changed"].map(bytes), via: nobody)
        #expect(put.status == 0, "\(put.err)")
        #expect(try Kvctl.run(["--db", path, "get", "k1"]).out == "changed\n")
    }
}
