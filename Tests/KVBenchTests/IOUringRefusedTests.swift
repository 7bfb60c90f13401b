import Foundation
import Testing

/// kvbench where io_uring_setup is refused with EPERM (the `no-io-uring`
/// seccomp launcher): load, read and reopen on plain syscalls.
@Suite("kvbench with io_uring refused")
struct KVBenchIOUringRefusedTests {
    let launcher = builtProduct("no-io-uring")
    let kvbench = builtProduct("kvbench")

    @Test func loadThenReadAfterReopenOnPlainSyscalls() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        let load = try runProcess(launcher, [kvbench, "--db", db, "--workload", "load", "--records", "3000",
                                             "--value-size", "200", "--threads", "2", "--json"], scratch: dir)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stderr.contains("io_uring unavailable (io_uring_setup failed: Operation not permitted"))
        let read = try runProcess(launcher, [kvbench, "--db", db, "--workload", "c", "--records", "3000",
                                             "--operations", "3000", "--value-size", "200", "--json"], scratch: dir)
        #expect(read.status == 0, "\(read.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: read.stdout) as? [String: Any])
        #expect((object["found"] as? NSNumber)?.intValue == 3000)
    }
}
