import Foundation
import Testing

/// The kvbench executable as scripts use it.
@Suite("kvbench command line")
struct CommandLineTests {
    let kvbench = builtProduct("kvbench")

    @Test func jsonModePrintsExactlyOneObjectOnStdout() throws {
        #expect(FileManager.default.fileExists(atPath: kvbench), "kvbench not built at \(kvbench)")
        let dir = try TempDir()
        let db = dir.sub("db")
        let load = try runProcess(kvbench, ["--db", db, "--workload", "load", "--records", "2000",
                                            "--value-size", "100", "--json"], scratch: dir)
        #expect(load.status == 0, "\(load.stderr)")
        let run = try runProcess(kvbench, ["--db", db, "--workload", "c", "--records", "2000", "--operations", "2000",
                                           "--value-size", "100", "--threads", "2", "--json",
                                           "--report", dir.sub("c.html")], scratch: dir)
        #expect(run.status == 0, "\(run.stderr)")
        for output in [load.stdout, run.stdout] {
            let text = String(decoding: output, as: UTF8.self)
            #expect(text.hasSuffix("}\n") && text.filter { $0 == "\n" }.count == 1, "stdout: \(text)")
            #expect(try JSONSerialization.jsonObject(with: output) is [String: Any])
        }
        let object = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
        let reads = ((object["latency_us"] as? [String: Any])?["read"] as? [String: Any])?["count"] as? NSNumber
        #expect(reads?.intValue == 2000)
        #expect((object["found"] as? NSNumber)?.intValue == 2000)
        #expect(FileManager.default.fileExists(atPath: dir.sub("c.html")))
        // The measured I/O rides along as one extra object.
        let loadObject = try #require(try JSONSerialization.jsonObject(with: load.stdout) as? [String: Any])
        let loadIO = try #require(loadObject["io"] as? [String: Any])
        let user = (loadIO["user_bytes_written"] as? NSNumber)?.intValue ?? 0
        #expect(user >= 2000 * (100 + 5) && user <= 2000 * (100 + 24))
        let readIO = try #require(object["io"] as? [String: Any])
        #expect(readIO["device_read_bytes"] is NSNumber && readIO["blocks_read_per_get"] is NSNumber)
        #expect((readIO["user_bytes_written"] as? NSNumber)?.intValue == 0)
    }

    @Test func badFlagsExitWithAMessage() throws {
        let dir = try TempDir()
        let run = try runProcess(kvbench, ["--db", dir.sub("db"), "--workload", "z"], scratch: dir)
        #expect(run.status != 0)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("--workload must be"))
        let sync = try runProcess(kvbench, ["--db", dir.sub("db"), "--sync", "sometimes"], scratch: dir)
        #expect(sync.status != 0 && sync.stderr.contains("--sync must be none or always"))
        for bad in ["0", "65"] {
            let batch = try runProcess(kvbench, ["--db", dir.sub("db"), "--workload", "c", "--batch", bad], scratch: dir)
            #expect(batch.status != 0 && batch.stderr.contains("--batch must be 1...64"), "--batch \(bad)")
        }
    }

    /// `--batch N`: reads go N keys per multiGet; operations, reads and
    /// found count keys; the latency is per multiGet, named "multiget"
    /// (the JSON ../shared/peers/ycsb_rocksdb --batch prints).
    @Test func batchReportsKeysAsOperationsAndMultigetLatency() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        let load = try runProcess(kvbench, ["--db", db, "--workload", "load", "--records", "1000",
                                            "--value-size", "100", "--json"], scratch: dir)
        #expect(load.status == 0, "\(load.stderr)")
        let run = try runProcess(kvbench, ["--db", db, "--workload", "c", "--records", "1000", "--operations", "640",
                                           "--value-size", "100", "--threads", "2", "--batch", "32", "--json"],
                                 scratch: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
        let latency = try #require(object["latency_us"] as? [String: Any])
        #expect(latency["read"] == nil)
        #expect(((latency["multiget"] as? [String: Any])?["count"] as? NSNumber)?.intValue == 20)
        #expect((object["operations"] as? NSNumber)?.intValue == 640)
        #expect((object["reads"] as? NSNumber)?.intValue == 640)
        #expect((object["found"] as? NSNumber)?.intValue == 640)
    }
}
