import ArgumentParser
import Glibc
import KVBenchCore
import Logging
import RingKV

@main
struct KVBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvbench",
        abstract: "YCSB-style benchmark for RingKV (load + core workloads A–F).",
        discussion: """
            Keys are YCSB's ("user" + decimal FNV-1a-64 of the record number); request
            keys follow YCSB's ScrambledZipfian (constant 0.99), Uniform or SkewedLatest
            generators. Progress goes to stderr once a second; with --json, stdout holds
            exactly one JSON object.

            Examples:
              kvbench --db /tmp/bench --workload load --records 100000
              kvbench --db /tmp/bench --workload a --records 100000 --operations 100000 --threads 4
              kvbench --db /tmp/bench --workload c --records 100000 --report c.html
              kvbench --db /tmp/bench4 --workload load --records 100000 --keyspaces 4
              kvbench --db /tmp/bench --workload c --records 100000 --batch 32 --direct-reads
              kvbench --db /tmp/bench --workload load --records 20000 --threads 8 --sync always --json
              kvbench --db /tmp/bulk --workload ingest --records 10000000 --value-size 100 --rounds 3
              kvbench --db /tmp/ctr --workload counter --records 1000 --operations 200000 --rounds 5
              kvbench --db /tmp/cold --async --tasks 20000 --records 60000 --cache-mb 1 --direct-reads
            """)

    @Option(help: "Database directory (created when missing).") var db: String
    @Option(help: "load|a|b|c|d|e|f|ingest|counter (ingest: IngestMode.swift; counter: merge increments vs get+put, CounterMode.swift)")
    var workload: String = "load"
    @Option(help: "Records loaded (load), or already loaded (a–f).") var records: Int64 = 100_000
    @Option(help: "Operations for workloads a–f.") var operations: Int64 = 100_000
    @Option(name: .customLong("value-size"), help: "Value size in bytes.") var valueSize: Int = 1000
    @Option(help: "Client threads.") var threads: Int = 1
    @Option(help: "zipfian|uniform|latest (default: the workload's, as in YCSB's workload files).")
    var distribution: String?
    @Option(help: "none|always: always = every write waits for its group's fdatasync.") var sync: String = "none"
    @Option(help: "Generator seed; thread i uses seed + i.") var seed: UInt64 = 1
    @Flag(help: "Print exactly one JSON object on stdout (nothing else).") var json = false
    @Option(help: "Write a self-contained report page (FILE.html) or picture (FILE.svg).") var report: String?
    @Flag(name: .customLong("direct-reads"), help: "Read table blocks, and write flush and compaction outputs, with O_DIRECT.") var directReads = false
    @Option(name: .customLong("cache-mb"), help: "Block cache size in MiB.") var cacheMB: Int = 64
    @Option(name: .customLong("memtable-mb"), help: "Memtable size in MiB.") var memtableMB: Int = 64
    @Option(name: .customLong("memtable-budget-mb"),
            help: "All memtables together in MiB (Options.totalMemtableSizeBytes; 0: 4 × --memtable-mb).")
    var memtableBudgetMB: Int = 0
    @Option(name: .customLong("compaction-rate-mb"),
            help: "Compaction writes per second in MiB (Options.compactionWriteBytesPerSecond; 0: no limit).")
    var compactionRateMB: Int = 0
    @Option(name: .customLong("read-poll-micros"),
            help: "How long a read waiting for the device polls before sleeping (Options.readPollMicros; 0: sleep at once).")
    var readPollMicros: Int?
    @Option(help: ArgumentHelp("Read operations go N keys at a time through one multiGet (1...64); ops/s counts keys, "
                               + "the latency of each multiGet is reported as \"multiget\"."))
    var batch: Int = 1
    @Flag(name: .customLong("reverse-scans"),
          help: "Scans (workload e) walk backward: seek(forPrev:) then prev, instead of seek then next.")
    var reverseScans = false
    @Flag(name: .customLong("sync-read-ahead"),
          help: "Iterators read each read-ahead window when the cursor reaches it (ReadOptions.asyncPrefetch = false).")
    var syncReadAhead = false
    @Flag(name: .customLong("log-events"),
          help: "Print the engine's log events (flushes, compactions with their levels and bytes, stalls) on stderr.")
    var logEvents = false
    @Flag(name: .customLong("posix-io"),
          help: "Plain pread/pwrite/fdatasync everywhere instead of io_uring (Options.forcePosixIO), to compare the two.")
    var posixIO = false
    @Flag(name: .customLong("async"),
          help: ArgumentHelp("Cold async reads: --tasks tasks at once through the async API against 2 threads of sync "
                             + "gets, beside iobench's io_uring IOPS at queue depth 32 (AsyncGetsMode.swift)."))
    var asyncMode = false

    @Flag(name: .customLong("follow"),
          help: ArgumentHelp("Follower catch-up: a new primary at --db writes --records records per round, a follower "
                             + "times its catchUp() (FollowMode.swift); --rounds rounds."))
    var followMode = false
    @Option(help: ArgumentHelp("Spread the records over N keyspaces (kvbench0 …): record i goes to keyspace i % N; "
                               + "1 = the database's default keyspace."))
    var keyspaces: Int = 1
    @Option(help: "--async: tasks started at once per round.") var tasks: Int = 20_000
    @Option(help: "--async and --workload counter/txn: rounds (phases in turn); medians are reported.") var rounds: Int = 3
    @Option(help: "--workload txn: hot accounts transfers move money between (TxnMode.swift).") var accounts: Int = 100
    @Flag(help: "--workload txn: per-thread keys, 2-read + 2-write transactions against WriteBatches of the 2 writes.")
    var uncontended = false

    func validate() throws {
        guard Workload(rawValue: workload) != nil || ["ingest", "counter", "txn"].contains(workload) else {
            throw ValidationError("--workload must be load, a, b, c, d, e, f, ingest, counter or txn")
        }
        if workload == "txn" && accounts < 2 { throw ValidationError("--accounts must be >= 2") }
        guard ["none", "always"].contains(sync) else { throw ValidationError("--sync must be none or always") }
        if let distribution, KeyDistribution(rawValue: distribution) == nil {
            throw ValidationError("--distribution must be zipfian, uniform or latest")
        }
        guard records >= 1 else { throw ValidationError("--records must be >= 1") }
        guard operations >= 0 else { throw ValidationError("--operations must be >= 0") }
        guard threads >= 1 else { throw ValidationError("--threads must be >= 1") }
        guard valueSize >= 0 && valueSize <= Options.maxValueSizeBytes else {
            throw ValidationError("--value-size must be 0...\(Options.maxValueSizeBytes)")
        }
        guard cacheMB >= 0 else { throw ValidationError("--cache-mb must be >= 0") }
        guard batch >= 1 && batch <= BenchConfig.maxBatch else {
            throw ValidationError("--batch must be 1...\(BenchConfig.maxBatch)")
        }
        guard memtableMB >= 1 else { throw ValidationError("--memtable-mb must be >= 1") }
        guard memtableBudgetMB >= 0 else { throw ValidationError("--memtable-budget-mb must be >= 0") }
        guard compactionRateMB >= 0 else { throw ValidationError("--compaction-rate-mb must be >= 0") }
        if let readPollMicros, !(0...1_000_000).contains(readPollMicros) {
            throw ValidationError("--read-poll-micros must be 0...1000000")
        }
        guard keyspaces >= 1 && keyspaces <= 1000 else { throw ValidationError("--keyspaces must be 1...1000") }
        if asyncMode && keyspaces != 1 { throw ValidationError("--async uses one keyspace; drop --keyspaces") }
        if workload == "counter" {
            guard rounds >= 1 else { throw ValidationError("--rounds must be >= 1") }
            if asyncMode || keyspaces != 1 { throw ValidationError("--workload counter takes neither --async nor --keyspaces") }
        }
        if asyncMode {
            guard tasks >= 1 && rounds >= 1 else { throw ValidationError("--tasks and --rounds must be >= 1") }
        }
        if let report, !(report.hasSuffix(".html") || report.hasSuffix(".svg")) {
            throw ValidationError("--report must name a .html or .svg file")
        }
    }

    func run() throws {
        // validate() checked the raw values.
        var config = BenchConfig(workload: Workload(rawValue: workload) ?? .load, records: records,
                                 operations: operations, valueSizeBytes: valueSize, threads: threads,
                                 distribution: distribution.flatMap(KeyDistribution.init(rawValue:)),
                                 sync: sync == "always", seed: seed, directReads: directReads,
                                 cacheMB: cacheMB, memtableMB: memtableMB, batch: batch)
        config.reverseScans = reverseScans
        config.syncReadAhead = syncReadAhead
        config.posixIO = posixIO
        config.keyspaces = keyspaces
        config.memtableBudgetMB = memtableBudgetMB
        config.compactionRateMB = compactionRateMB
        config.readPollMicros = readPollMicros
        if followMode {
            guard access(db, F_OK) != 0 else {
                printError("kvbench: --follow creates a new database: \(db) already exists")
                throw ExitCode.failure
            }
            do {
                try FollowMode(dbPath: db, config: config, rounds: rounds, json: json).run()
            } catch {
                printError("kvbench: \(error)")
                throw ExitCode.failure
            }
            return
        }
        if workload == "ingest" {
            do {
                try IngestMode(dbPath: db, config: config, rounds: rounds, json: json).run()
            } catch {
                printError("kvbench: \(error)")
                throw ExitCode.failure
            }
            return
        }
        if workload == "counter" {
            do {
                try CounterMode(dbPath: db, config: config, rounds: rounds, json: json).run()
            } catch {
                printError("kvbench: \(error)")
                throw ExitCode.failure
            }
            return
        }
        if workload == "txn" {
            do {
                try TxnMode(dbPath: db, config: config, accounts: accounts, uncontended: uncontended,
                            rounds: rounds, json: json).run()
            } catch {
                printError("kvbench: \(error)")
                throw ExitCode.failure
            }
            return
        }
        if asyncMode {
            do {
                try AsyncGetsMode(dbPath: db, config: config, tasks: tasks, rounds: rounds,
                                  syncGetsPerThread: max(tasks / 4, 1000), json: json).run()
            } catch {
                printError("kvbench: \(error)")
                throw ExitCode.failure
            }
            return
        }
        var result: RunResult
        do {
            let ioAtStart = ProcessIO.current()
            let cpuAtStart = RunCPU.processSecondsNow()
            let diskAtStart = DiskIO.current(holding: db)
            var options = config.makeOptions()
            if logEvents { options.logger = Logger(label: "ringkv", factory: { label in StreamLogHandler.standardError(label: label) }) }
            let database = try DB(path: db, options: options)
            result = try BenchRunner(db: database, config: config).run(progress: printError)
            // Engine shape at the end (stderr: stdout holds only the result).
            let stats = database.stats()
            printError("kvbench: L0 files \(stats.levels[0].files) at the end, peak \(stats.peakL0Files) during the run; "
                       + "stalls \(stats.stalls), slowdowns \(stats.slowdowns); \(stats.compactions) compactions "
                       + "(\(stats.compactionBytesWritten >> 20) MiB written, \(stats.compactionMicros / 1000) ms)")
            let lookups = stats.blockCacheHits + stats.blockCacheMisses
            if lookups > 0 {
                let hitPercent = (Double(stats.blockCacheHits) * 1000 / Double(lookups)).rounded() / 10
                printError("kvbench: block cache \(stats.blockCacheHits) hits, \(stats.blockCacheMisses) misses "
                           + "(\(hitPercent) % hits), \(stats.blockCacheEntries) blocks in \(stats.blockCacheUsageBytes) bytes")
            }
            if stats.walGroups > 0 {
                let perGroup = Double(stats.writeBatches) / Double(stats.walGroups)
                printError("kvbench: \(stats.writeBatches) write batches in \(stats.walGroups) WAL groups "
                           + "(\((perGroup * 100).rounded() / 100) per group)")
            }
            let threads = RunCPU.liveThreadSeconds()
            try database.close()
            // The engine's counters as the run left them; the device bytes
            // and the process's CPU after close (they include its last writes).
            result.engineIO = EngineIO(stats: stats, from: ioAtStart, to: ProcessIO.current(),
                                       diskFrom: diskAtStart, diskTo: DiskIO.current(holding: db))
            result.engineIO?.cpu = RunCPU(processSeconds: RunCPU.processSecondsNow() - cpuAtStart,
                                          backgroundSeconds: threads.background, ioWorkerSeconds: threads.ioWorkers)
        } catch {
            printError("kvbench: \(error)")
            throw ExitCode.failure
        }
        if let report {
            let page = report.hasSuffix(".svg") ? HTMLReport.svg(result) : HTMLReport.html(result)
            do {
                try writeFile(report, page)
            } catch {
                printError("kvbench: cannot write \(report): \(error)")
                throw ExitCode.failure
            }
        }
        print(json ? BenchReport.json(result) : BenchReport.table(result))
    }
}

/// One line on stderr (stdout is reserved for the result).
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let n = write(2, base + offset, raw.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

struct WriteFailed: Error, CustomStringConvertible {
    let description: String
}

func writeFile(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw WriteFailed(description: String(cString: strerror(errno))) }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    guard written == bytes.count, fflush(file) == 0 else {
        throw WriteFailed(description: String(cString: strerror(errno)))
    }
}
