import Foundation
import KVBenchCore
import RingKV
import Testing

@Suite("kvbench runner")
struct RunnerTests {
    @Test func flagsMapToEngineOptions() {
        let config = BenchConfig(workload: .a, records: 10, operations: 10, sync: true, directReads: true,
                                 cacheMB: 8, memtableMB: 4)
        let options = config.makeOptions()
        #expect(options.createIfMissing)
        #expect(options.directReads && options.directTableWrites)
        #expect(options.blockCacheSizeBytes == 8 << 20)
        #expect(options.memtableSizeBytes == 4 << 20)
        #expect(config.writeOptions.sync)
        let defaults = BenchConfig(workload: .d, records: 10, operations: 10)
        #expect(!defaults.writeOptions.sync && !defaults.makeOptions().directReads)
        #expect(defaults.makeOptions().blockCacheSizeBytes == 64 << 20)
        // --memtable-budget-mb: 0 keeps the engine's default budget.
        #expect(defaults.makeOptions().totalMemtableSizeBytes == 0)
        var budgeted = config
        budgeted.memtableBudgetMB = 16
        #expect(budgeted.makeOptions().totalMemtableSizeBytes == 16 << 20)
        #expect(defaults.distribution == .latest)
    }

    @Test func threadSharesAddUpToTheOperations() throws {
        let dir = try TempDir()
        for (operations, threads) in [(10, 3), (7, 7), (5, 8), (1000, 2)] {
            let config = BenchConfig(workload: .c, records: 10, operations: Int64(operations), threads: threads)
            let db = try DB(path: dir.sub("db\(operations)-\(threads)"), options: config.makeOptions())
            let runner = BenchRunner(db: db, config: config)
            let shares = (0..<threads).map { runner.share(ofThread: $0) }
            #expect(shares.reduce(0, +) == Int64(operations))
            #expect(shares.max()! - shares.min()! <= 1)
        }
    }

    @Test func loadThenWorkloadCFindsEveryRead() throws {
        let dir = try TempDir()
        let load = BenchConfig(workload: .load, records: 2000, operations: 0, valueSizeBytes: 200, threads: 2)
        let db = try DB(path: dir.sub("db"), options: load.makeOptions())
        let loaded = try BenchRunner(db: db, config: load).run()
        #expect(loaded.operations == 2000)
        #expect(loaded.latencies[.insert]?.count == 2000)
        // Exactly records 0..<2000, under YCSB's keys, with printable values.
        for record in Int64(0)..<2000 {
            let value = try db.get(YCSBKeys.key(record))
            #expect(value?.count == 200, "record \(record)")
            #expect(value?.allSatisfy { $0 >= 0x20 && $0 < 0x60 } == true)
        }
        #expect(try db.get(YCSBKeys.key(2000)) == nil)

        let c = BenchConfig(workload: .c, records: 2000, operations: 2000, valueSizeBytes: 200, threads: 2)
        let result = try BenchRunner(db: db, config: c).run()
        #expect(result.operations == 2000)
        #expect(result.reads == 2000)
        #expect(result.found == result.reads)
        #expect(result.latencies[.read]?.count == 2000)
        #expect(!result.throughput.isEmpty)
        try db.close()
    }

    /// `--batch`: a share that is not a multiple of the batch ends one
    /// partial batch past it (ycsb_rocksdb.c does the same), every key of a
    /// batch is counted as a read and an operation, and absent keys (records
    /// past the loaded ones are never chosen, so this checks only found ==
    /// reads) are counted as not found.
    @Test func batchedReadsCountKeysAndOneLatencyPerMultiGet() throws {
        let dir = try TempDir()
        let load = BenchConfig(workload: .load, records: 500, operations: 0, valueSizeBytes: 50, threads: 1)
        let db = try DB(path: dir.sub("db"), options: load.makeOptions())
        _ = try BenchRunner(db: db, config: load).run()
        let b = BenchConfig(workload: .b, records: 500, operations: 1000, valueSizeBytes: 50, threads: 2, batch: 7)
        let result = try BenchRunner(db: db, config: b).run()
        let batches = result.latencies[.multiGet]?.count ?? 0
        let updates = result.latencies[.update]?.count ?? 0
        #expect(result.latencies[.read] == nil)
        #expect(batches > 0 && updates > 0)
        #expect(result.reads == batches * 7)
        #expect(result.found == result.reads)
        #expect(result.operations == result.reads + updates)
        #expect(result.operations >= 1000 && result.operations < 1000 + 2 * 7)
        try db.close()
    }

    @Test func everyWorkloadFindsEveryReadOfLoadedOrInsertedKeys() throws {
        let dir = try TempDir()
        let records: Int64 = 1000
        let load = BenchConfig(workload: .load, records: records, operations: 0, valueSizeBytes: 100, threads: 2)
        let db = try DB(path: dir.sub("db"), options: load.makeOptions())
        _ = try BenchRunner(db: db, config: load).run()
        for workload in [Workload.a, .b, .d, .e, .f] {
            let config = BenchConfig(workload: workload, records: records, operations: 600, valueSizeBytes: 100,
                                     threads: 3, seed: 9)
            let r = try BenchRunner(db: db, config: config).run()
            #expect(r.operations == 600, "\(workload)")
            #expect(r.found == r.reads, "\(workload): found \(r.found) of \(r.reads)")
            #expect((r.latencies[.read]?.count ?? 0) == r.reads, "\(workload)")
            switch workload {
            case .e: #expect(r.reads == 0 && (r.latencies[.scan]?.count ?? 0) > 500)
            case .f:
                // The read and update halves of each rmw are also measured.
                let rmw = r.latencies[.readModifyWrite]?.count ?? 0
                #expect(rmw > 0 && r.latencies[.update]?.count == rmw)
                #expect(r.reads == 600)
            default: #expect(r.reads > 0)
            }
        }
        // D and E inserted new records after the loaded ones.
        #expect(try db.get(YCSBKeys.key(records)) != nil)
        try db.close()
    }

    /// `--reverse-scans` and `--sync-read-ahead` change how E's scans walk,
    /// not what they count.
    @Test(arguments: [(false, true), (true, false), (true, true)])
    func scanVariantsRunWorkloadE(reverse: Bool, syncReadAhead: Bool) throws {
        let dir = try TempDir()
        let load = BenchConfig(workload: .load, records: 2000, operations: 0, valueSizeBytes: 100, threads: 1)
        let db = try DB(path: dir.sub("db"), options: load.makeOptions())
        _ = try BenchRunner(db: db, config: load).run()
        try db.flush()
        var config = BenchConfig(workload: .e, records: 2000, operations: 300, valueSizeBytes: 100, threads: 2, seed: 4)
        config.reverseScans = reverse
        config.syncReadAhead = syncReadAhead
        let r = try BenchRunner(db: db, config: config).run()
        #expect(r.operations == 300)
        #expect((r.latencies[.scan]?.count ?? 0) > 250)
        try db.close()
    }

    @Test func writeFailureStopsTheRunWithAnError() throws {
        let dir = try TempDir()
        let config = BenchConfig(workload: .load, records: 100, operations: 0, valueSizeBytes: 10)
        let db = try DB(path: dir.sub("db"), options: config.makeOptions())
        try db.close()
        #expect(throws: BenchError.self) { try BenchRunner(db: db, config: config).run() }
    }
}
