import Glibc
import KVBenchCore
import RingIO
import RingKV

/// `kvbench --workload ingest`: bulk loading `--records` sorted records
/// (16-byte keys "k" + 15 digits, `--value-size` bytes of SplitMix64
/// output seeded by the record number — the generation
/// Peers/rocksdb/ingest_rocksdb.c repeats) two ways, each into a fresh
/// database, alternating for `--rounds` rounds:
/// 1. **ingest**: one `TableFileWriter` file next to the database, then
///    `DB.ingest` (hard link; every block read back and checked);
/// 2. **puts**: WriteBatches of 1,000 records, sync off (the fastest put
///    path) except the last batch, which is synced: when it returns every
///    record is durable and visible, as after a returned ingest (a synced
///    write makes every earlier one durable, docs/DURABILITY.md). Timed
///    until that write returns, and again after a `flush()` (the data in
///    a table, as the ingest leaves it).
/// Both sides generate the same records with the same code on the timed
/// thread; the time the generation alone takes is measured too (a loop
/// that only generates) and printed, not subtracted.
/// Records per second per round and the medians go to stdout.
struct IngestMode {
    let dbPath: String
    let config: BenchConfig
    let rounds: Int
    let json: Bool

    static let batchRecords = 1000

    /// Record `i`'s key: "k" and 15 decimal digits (`BulkRecords`).
    @inline(__always)
    static func key(_ i: Int64, into buffer: inout [UInt8]) { BulkRecords.key(i, into: &buffer) }

    /// Record `i`'s value: SplitMix64 seeded with i, 8 bytes at a time
    /// (little-endian), cut to the length (`BulkRecords`).
    @inline(__always)
    static func value(_ i: Int64, into buffer: inout [UInt8]) { BulkRecords.value(i, into: &buffer) }

    struct Round {
        var ingestSeconds = 0.0, writeSeconds = 0.0, putSeconds = 0.0, putFlushSeconds = 0.0, generateSeconds = 0.0
        /// Process CPU (user + sys) over each path (with the flush for puts).
        var ingestCPUSeconds = 0.0, putCPUSeconds = 0.0
    }

    func run() throws {
        var results: [Round] = []
        for round in 0..<rounds {
            var r = Round()
            var cpu = RunCPU.processSecondsNow()
            (r.writeSeconds, r.ingestSeconds) = try ingestPhase()
            r.ingestCPUSeconds = RunCPU.processSecondsNow() - cpu
            cpu = RunCPU.processSecondsNow()
            (r.putSeconds, r.putFlushSeconds) = try putPhase()
            r.putCPUSeconds = RunCPU.processSecondsNow() - cpu
            r.generateSeconds = generateOnly()
            results.append(r)
            if !json {
                let n = Double(config.records)
                print("round \(round + 1): ingest \(Self.int(n / r.ingestSeconds)) records/s "
                      + "(write \(Self.fixed(r.writeSeconds)) s + ingest \(Self.fixed(r.ingestSeconds - r.writeSeconds)) s), "
                      + "puts \(Self.int(n / r.putSeconds)) records/s (\(Self.int(n / r.putFlushSeconds)) with the flush), "
                      + "ratio \(Self.fixed(r.putSeconds / r.ingestSeconds)); CPU ingest \(Self.fixed(r.ingestCPUSeconds)) s, "
                      + "puts \(Self.fixed(r.putCPUSeconds)) s; generating the records alone "
                      + "\(Self.fixed(r.generateSeconds)) s")
            }
        }
        let n = Double(config.records)
        let ingest = n / Self.median(results.map(\.ingestSeconds))
        let puts = n / Self.median(results.map(\.putSeconds))
        let putsFlushed = n / Self.median(results.map(\.putFlushSeconds))
        if json {
            print("{\"workload\":\"ingest\",\"records\":\(config.records),\"valueSize\":\(config.valueSizeBytes),"
                  + "\"rounds\":\(rounds),\"ingestRecordsPerSecond\":\(Self.int(ingest)),"
                  + "\"putRecordsPerSecond\":\(Self.int(puts)),\"putFlushedRecordsPerSecond\":\(Self.int(putsFlushed))}")
        } else {
            print("median of \(rounds): ingest \(Self.int(ingest)) records/s, puts (batches of \(Self.batchRecords), "
                  + "sync off) \(Self.int(puts)) records/s, \(Self.int(putsFlushed)) with the flush; "
                  + "ingest / puts = \(Self.fixed(ingest / puts))")
        }
    }

    /// Returns (seconds to write the file, seconds to write and ingest).
    private func ingestPhase() throws -> (Double, Double) {
        let path = dbPath + "-ingest"
        try? FileSystem.removeTree(path)
        let file = path + ".sst"
        try? FileSystem.remove(file)
        let db = try DB(path: path, options: config.makeOptions())
        defer { try? db.close(); try? FileSystem.removeTree(path) }
        var key = [UInt8](repeating: 0, count: 16)
        var value = [UInt8](repeating: 0, count: config.valueSizeBytes)
        let started = MonotonicNanos.now()
        let writer = try TableFileWriter(path: file, for: db)
        for i in 0..<config.records {
            Self.key(i, into: &key)
            Self.value(i, into: &value)
            try writer.add(key, value)
        }
        try writer.finish()
        let written = MonotonicNanos.now()
        try db.ingest([file], options: IngestOptions(move: true))
        let done = MonotonicNanos.now()
        try check(db)
        return (Double(written - started) / 1e9, Double(done - started) / 1e9)
    }

    /// Returns (seconds until the last batch returned, and after the flush).
    private func putPhase() throws -> (Double, Double) {
        let path = dbPath + "-puts"
        try? FileSystem.removeTree(path)
        let db = try DB(path: path, options: config.makeOptions())
        defer { try? db.close(); try? FileSystem.removeTree(path) }
        var key = [UInt8](repeating: 0, count: 16)
        var value = [UInt8](repeating: 0, count: config.valueSizeBytes)
        var batch = WriteBatch()
        let started = MonotonicNanos.now()
        for i in 0..<config.records {
            Self.key(i, into: &key)
            Self.value(i, into: &value)
            batch.put(key, value)
            if batch.count == Self.batchRecords || i == config.records - 1 {
                // The last batch is synced: every record durable, as after
                // a returned ingest.
                try db.write(batch, options: WriteOptions(sync: i == config.records - 1))
                batch.clear()
            }
        }
        let returned = MonotonicNanos.now()
        try db.flush()
        let flushed = MonotonicNanos.now()
        try check(db)
        return (Double(returned - started) / 1e9, Double(flushed - started) / 1e9)
    }

    /// Seconds to generate every record with nothing else (both sides do
    /// this work inside their timed loops).
    private func generateOnly() -> Double {
        var key = [UInt8](repeating: 0, count: 16)
        var value = [UInt8](repeating: 0, count: config.valueSizeBytes)
        var sum: UInt8 = 0
        let started = MonotonicNanos.now()
        for i in 0..<config.records {
            Self.key(i, into: &key)
            Self.value(i, into: &value)
            sum &+= key[15] &+ value[value.count / 2]
        }
        let seconds = Double(MonotonicNanos.now() - started) / 1e9
        if sum == 0x5a && config.records < 0 { print(sum) }  // keeps the loop
        return seconds
    }

    /// A few records read back (the first, the last, some between).
    private func check(_ db: DB) throws {
        var key = [UInt8](repeating: 0, count: 16)
        var value = [UInt8](repeating: 0, count: config.valueSizeBytes)
        for i in [0, config.records / 3, config.records / 2, config.records - 1] {
            Self.key(i, into: &key)
            Self.value(i, into: &value)
            guard try db.get(key) == value else { throw BenchError("record \(i) reads back wrong") }
        }
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }
    static func int(_ x: Double) -> Int { x.isFinite ? Int(x.rounded()) : 0 }
    static func fixed(_ x: Double) -> String { String(Double(Int((x * 100).rounded())) / 100) }
}
