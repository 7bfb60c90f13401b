import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KVBenchCore
import RingKV
import Testing

/// Element names, ids and series of an XML document.
final class XMLOutline: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var ids: [String] = []
    var seriesNames: [String] = []
    var polylinePointCounts: [Int] = []
    var error: (any Error)?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elements.append(elementName)
        if let id = attributeDict["id"] { ids.append(id) }
        if elementName == "polyline" {
            seriesNames.append(attributeDict["data-series"] ?? "")
            polylinePointCounts.append((attributeDict["points"] ?? "").split(separator: " ").count)
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { error = parseError }

    static func parse(_ data: Data) -> (ok: Bool, outline: XMLOutline) {
        let outline = XMLOutline()
        let parser = XMLParser(data: data)
        parser.delegate = outline
        let ok = parser.parse()
        return (ok && outline.error == nil, outline)
    }
}

@Suite("kvbench reports")
struct ReportTests {
    /// A loaded database and a workload-a run on it (2 threads).
    private func sampleRun(_ dir: TempDir) throws -> RunResult {
        let load = BenchConfig(workload: .load, records: 500, operations: 0, valueSizeBytes: 64, threads: 2)
        let db = try DB(path: dir.sub("db"), options: load.makeOptions())
        _ = try BenchRunner(db: db, config: load).run()
        let a = BenchConfig(workload: .a, records: 500, operations: 800, valueSizeBytes: 64, threads: 2)
        let result = try BenchRunner(db: db, config: a).run()
        try db.close()
        return result
    }

    @Test func jsonHasTheContractFields() throws {
        let dir = try TempDir()
        let result = try sampleRun(dir)
        let text = BenchReport.json(result)
        #expect(!text.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["engine", "workload", "records", "operations", "threads", "seconds",
                                     "ops_per_sec", "found", "reads", "latency_us"])
        #expect(object["engine"] as? String == "ringkv")
        #expect(object["workload"] as? String == "a")
        #expect((object["records"] as? NSNumber)?.intValue == 500)
        #expect((object["operations"] as? NSNumber)?.intValue == 800)
        #expect((object["threads"] as? NSNumber)?.intValue == 2)
        #expect(((object["seconds"] as? NSNumber)?.doubleValue ?? 0) > 0)
        #expect(((object["ops_per_sec"] as? NSNumber)?.doubleValue ?? 0) > 0)
        let latency = try #require(object["latency_us"] as? [String: Any])
        #expect(Set(latency.keys) == ["read", "update"])
        var total = 0
        for (_, value) in latency {
            let op = try #require(value as? [String: Any])
            #expect(Set(op.keys) == ["count", "p50", "p99", "p999", "max"])
            let p50 = (op["p50"] as? NSNumber)?.doubleValue ?? -1
            let p99 = (op["p99"] as? NSNumber)?.doubleValue ?? -1
            let p999 = (op["p999"] as? NSNumber)?.doubleValue ?? -1
            let max = (op["max"] as? NSNumber)?.doubleValue ?? -1
            #expect(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= max)
            total += (op["count"] as? NSNumber)?.intValue ?? 0
        }
        #expect(total == 800)
        let reads = ((latency["read"] as? [String: Any])?["count"] as? NSNumber)?.intValue
        #expect((object["found"] as? NSNumber)?.intValue == reads)
    }

    @Test func measuredIOIsOneMoreObjectBesideTheContractFields() throws {
        let dir = try TempDir()
        var result = try sampleRun(dir)
        let updates = UInt64(result.latencies.recorded.first { $0.op == .update }?.histogram.count ?? 0)
        #expect(updates > 0)
        // Keys are "user" + up to 20 digits, values 64 bytes.
        #expect(result.userBytesWritten >= updates * (64 + 5) && result.userBytesWritten <= updates * (64 + 24))
        result.engineIO = EngineIO(deviceReadBytes: 4096, deviceWriteBytes: 3 * result.userBytesWritten,
                                   lookupBlocksRead: result.reads / 2, tableOpenBlocksRead: 4,
                                   tableBytesByLevel: [result.userBytesWritten, 2 * result.userBytesWritten, 0],
                                   pinnedTableMemoryBytes: 1234)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(BenchReport.json(result).utf8))
                                    as? [String: Any])
        #expect(Set(object.keys) == ["engine", "workload", "records", "operations", "threads", "seconds",
                                     "ops_per_sec", "found", "reads", "latency_us", "io"])
        let io = try #require(object["io"] as? [String: Any])
        #expect((io["device_read_bytes"] as? NSNumber)?.intValue == 4096)
        #expect(((io["write_amplification"] as? NSNumber)?.doubleValue ?? 0) == 3)
        #expect(abs(((io["blocks_read_per_get"] as? NSNumber)?.doubleValue ?? 0) - 0.5) < 0.01)
        #expect((io["write_amp_by_level"] as? [NSNumber])?.map(\.doubleValue) == [1, 2, 0])
        #expect((io["pinned_table_memory_bytes"] as? NSNumber)?.intValue == 1234)
        let table = BenchReport.table(result)
        #expect(table.contains("write amplification: device 3.00") && table.contains("L1 2.00"))
        #expect(io["disk_write_bytes"] == nil, "no disk reading, no disk figure")
        // The disk's own figure beside the process's dirtied-page count
        // (which counts a whole page-cache folio per small write into it).
        result.engineIO?.disk = DiskIO(device: "vdz", writtenBytes: 5 << 20)
        let withDisk = try #require(try JSONSerialization.jsonObject(with: Data(BenchReport.json(result).utf8))
                                      as? [String: Any])
        let diskIO = try #require(withDisk["io"] as? [String: Any])
        #expect(diskIO["disk"] as? String == "vdz")
        #expect((diskIO["disk_write_bytes"] as? NSNumber)?.intValue == 5 << 20)
        #expect(BenchReport.table(result).contains("disk vdz: wrote 5.0 MiB during the run"))
        // The run's CPU and the background threads' share, once measured.
        #expect(diskIO["cpu_seconds"] == nil, "not measured, not printed")
        result.engineIO?.cpu = RunCPU(processSeconds: 12.5, backgroundSeconds: 7.25, ioWorkerSeconds: 0.5)
        let withCPU = try #require(try JSONSerialization.jsonObject(with: Data(BenchReport.json(result).utf8))
                                     as? [String: Any])
        let cpuIO = try #require(withCPU["io"] as? [String: Any])
        #expect((cpuIO["cpu_seconds"] as? NSNumber)?.doubleValue == 12.5)
        #expect((cpuIO["background_cpu_seconds"] as? NSNumber)?.doubleValue == 7.25)
        #expect((cpuIO["io_worker_cpu_seconds"] as? NSNumber)?.doubleValue == 0.5)
        #expect(BenchReport.table(result).contains("cpu: 12.50 s (user + system), of which flush and compaction threads 7.25 s"))
    }

    @Test func aLiveBackgroundThreadsCPUIsCounted() throws {
        // A thread named as the engine's compaction threads burns 100 ms of
        // its own CPU, then waits while the scan reads /proc.
        let burned = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        let thread = Thread {
            Thread.current.name = "ringkv-compact"  // the OS thread name on Linux
            var now = timespec()
            repeat { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) } while now.tv_sec == 0 && now.tv_nsec < 100_000_000
            burned.signal()
            done.wait()
        }
        thread.start()
        burned.wait()
        let seconds = RunCPU.liveThreadSeconds()
        done.signal()
        #expect(seconds.background >= 0.09, "the named thread's 100 ms (other tests' engines may add more)")
        #expect(RunCPU.processSecondsNow() >= seconds.background)
    }

    @Test func threadStatLinesGiveNameAndSeconds() throws {
        // A name with a space and a parenthesis; utime 250, stime 50 ticks.
        let line = "4242 (ringkv-com) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 0 0"
        let parsed = try #require(RunCPU.parse(stat: line, ticks: 100))
        #expect(parsed.0 == "ringkv-com) x")
        #expect(parsed.1 == 3.0)
        #expect(RunCPU.parse(stat: "4242 (short) S 1 2", ticks: 100) == nil)
    }

    @Test func diskCountersAreFoundForTheDatabasesDevice() throws {
        let dir = try TempDir()
        // Containers without a block device behind the temporary directory
        // (tmpfs, overlay) have none: nothing to check there.
        guard let before = DiskIO.current(holding: dir.sub("not-yet/db")) else { return }
        let after = try #require(DiskIO.current(holding: dir.path))
        #expect(before.device == after.device && !before.device.isEmpty)
        #expect(after.writtenBytes >= before.writtenBytes)
    }

    @Test func tableListsPercentilesPerOperation() throws {
        let dir = try TempDir()
        let table = BenchReport.table(try sampleRun(dir))
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("workload a: 800 ops"))
        #expect(lines[1].split(separator: " ").map(String.init)
                == ["op", "count", "ops/s", "p50", "us", "p95", "us", "p99", "us", "p99.9", "us", "max", "us"])
        #expect(lines.contains { $0.hasPrefix("read ") } && lines.contains { $0.hasPrefix("update ") })
        #expect(lines.last?.hasPrefix("found ") == true)
    }

    @Test func htmlReportIsWellFormedWithBothCharts() throws {
        let dir = try TempDir()
        let html = HTMLReport.html(try sampleRun(dir))
        #expect(!html.contains("<script") && !html.contains("http://fonts") && !html.contains("<link"))
        let (ok, outline) = XMLOutline.parse(Data(html.utf8))
        #expect(ok, "\(String(describing: outline.error))")
        #expect(outline.elements.first == "html")
        #expect(outline.ids.contains("throughput") && outline.ids.contains("latency-cdf"))
        #expect(outline.elements.filter { $0 == "svg" }.count == 2)
        #expect(outline.elements.contains("table"))
        // One throughput line, one CDF per operation type.
        #expect(outline.seriesNames == ["all operations", "read", "update"])
        #expect(outline.polylinePointCounts.allSatisfy { $0 >= 2 })
    }

    @Test func svgReportIsAStandaloneWellFormedPicture() throws {
        let dir = try TempDir()
        let svg = HTMLReport.svg(try sampleRun(dir))
        let (ok, outline) = XMLOutline.parse(Data(svg.utf8))
        #expect(ok, "\(String(describing: outline.error))")
        #expect(outline.elements.first == "svg")
        #expect(outline.ids.contains("throughput") && outline.ids.contains("latency-cdf"))
        #expect(outline.seriesNames == ["all operations", "read", "update"])
    }
}
