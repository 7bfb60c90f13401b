import ArgumentParser
import Glibc
import RingKV

@main
struct KVBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvbench",
        abstract: "YCSB-style benchmark for RingKV.",
        discussion: """
            Examples:
              kvbench --db /tmp/bench --workload load --records 100000
              kvbench --db /tmp/bench --workload a --records 100000 --operations 100000 --threads 4
              kvbench --db /tmp/bench --workload load --records 20000 --threads 8 --sync always --json
            """)

    @Option(help: "Database directory (created when missing).") var db: String
    @Option(help: "load|a|b|c|d|e|f") var workload: String = "load"
    @Option(help: "Records loaded (and the key space of a–f).") var records: UInt64 = 100_000
    @Option(help: "Operations for workloads a–f.") var operations: UInt64 = 100_000
    @Option(name: .customLong("value-size"), help: "Value size in bytes.") var valueSize: Int = 1000
    @Option(help: "Client threads.") var threads: Int = 1
    @Option(help: "zipfian|uniform|latest (default: the workload's).") var distribution: String?
    @Option(help: "none|always: fsync each write's group.") var sync: String = "none"
    @Option(help: "Generator seed.") var seed: UInt64 = 1
    @Flag(help: "Print exactly one JSON object on stdout.") var json = false
    @Flag(name: .customLong("direct-reads"), help: "Read tables with O_DIRECT.") var directReads = false
    @Option(name: .customLong("cache-mb"), help: "Block cache size in MiB.") var cacheMB: Int = 64
    @Option(name: .customLong("memtable-mb"), help: "Memtable size in MiB.") var memtableMB: Int = 64

    func validate() throws {
        guard workload == "load" || WorkloadMix.named(workload) != nil else {
            throw ValidationError("--workload must be load, a, b, c, d, e or f")
        }
        guard ["none", "always"].contains(sync) else { throw ValidationError("--sync must be none or always") }
        if let distribution, !["zipfian", "uniform", "latest"].contains(distribution) {
            throw ValidationError("--distribution must be zipfian, uniform or latest")
        }
        guard threads >= 1, valueSize >= 0, records >= 1 else { throw ValidationError("bad sizes") }
    }

    func run() throws {
        var options = Options()
        options.createIfMissing = true
        options.directReads = directReads
        options.blockCacheSizeBytes = cacheMB << 20
        options.memtableSizeBytes = memtableMB << 20
        let database = try DB(path: db, options: options)
        let mix = WorkloadMix.named(workload) ?? WorkloadMix()
        let config = RunConfig(workload: workload, records: records, operations: operations, valueSize: valueSize,
                               threads: threads, distribution: distribution ?? mix.defaultDistribution,
                               sync: sync == "always", seed: seed)
        let (results, seconds) = Runner(db: database, config: config, mix: mix).run()
        try database.close()
        let report = BenchReport(config: config, results: results, seconds: seconds)
        print(json ? report.json() : report.table())
    }
}
