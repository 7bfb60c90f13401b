import Glibc
import RingIO
import Testing

/// kvctl where io_uring_setup is refused with EPERM (run through the
/// `no-io-uring` seccomp launcher, the kernel's real refusal as in a
/// Docker container): it creates, writes, reads and reopens a database on
/// plain syscalls, with one notice on stderr per run.
@Suite("kvctl with io_uring refused")
struct KvctlIOUringRefusedTests {
    static let launcher = [builtProduct("no-io-uring")]
    static let notice = "RingIO: io_uring unavailable (io_uring_setup failed: Operation not permitted, errno 1)"

    private func run(_ arguments: [String]) throws -> KvctlRun {
        try Kvctl.run(raw: arguments.map { Array($0.utf8) }, via: Self.launcher)
    }

    @Test func createWriteReadAndReopenOnPlainSyscalls() throws {
        #expect(FileSystem.exists(Self.launcher[0]), "no-io-uring not built at \(Self.launcher[0])")
        let dir = try TempDir()
        let db = dir.sub("db")
        let put = try run(["--db", db, "--create", "put", "k1", "v1"])
        #expect(put.status == 0, "\(put.err)")
        // Exactly one notice, naming the refusal (not file permissions).
        let lines = put.err.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix(Self.notice), "stderr: \(put.err)")
        #expect(!put.err.contains("check the permissions"))
        for i in 2...20 {
            #expect(try run(["--db", db, "put", "k\(i)", "v\(i)"]).status == 0)
        }
        let get = try run(["--db", db, "get", "k7"])
        #expect(get.status == 0 && get.out == "v7\n", "\(get.out) \(get.err)")
        let scan = try run(["--db", db, "scan", "--keys-only"])
        #expect(scan.status == 0 && scan.out.split(separator: "\n").count == 20)
        #expect(try run(["--db", db, "compact"]).status == 0)
        let verify = try run(["--db", db, "verify"])
        #expect(verify.status == 0, "\(verify.out) \(verify.err)")
        // And the same database opens with io_uring again.
        let plain = try Kvctl.run(["--db", db, "get", "k20"])
        #expect(plain.status == 0 && plain.out == "v20\n" && plain.err.isEmpty)
    }
}
