import KVBenchCore
import RingKV
import Testing

@Suite("kvbench --keyspaces")
struct KeyspacesTests {
    /// With 4 keyspaces, load puts record i in keyspace i % 4 only (and
    /// nothing in "default"); every workload then finds its keys there.
    @Test func recordsAreSpreadOverTheKeyspacesAndEveryWorkloadFindsThem() throws {
        let dir = try TempDir()
        var load = BenchConfig(workload: .load, records: 800, operations: 0, valueSizeBytes: 64, threads: 2)
        load.keyspaces = 4
        let db = try DB(path: dir.sub("db"), options: load.makeOptions())
        #expect(try BenchRunner(db: db, config: load).run().operations == 800)
        #expect(db.keyspaceNames() == ["default"] + (0..<4).map(BenchTargets.name))
        let keyspaces = try (0..<4).map { try db.existingKeyspace(BenchTargets.name($0)) }
        for (index, keyspace) in keyspaces.enumerated() {
            let rows = try keyspace.scan(from: [UInt8]())
            #expect(rows.count == 200, "keyspace \(index) holds \(rows.count)")
        }
        for record in Int64(0)..<800 {
            let home = Int(record % 4)
            for (index, keyspace) in keyspaces.enumerated() {
                let value = try keyspace.get(YCSBKeys.key(record))
                #expect((value != nil) == (index == home), "record \(record) in keyspace \(index)")
            }
        }
        #expect(try db.scan(from: [UInt8]()).isEmpty, "default holds nothing")

        for workload in [Workload.a, .b, .c, .d, .e, .f] {
            var config = BenchConfig(workload: workload, records: 800, operations: 400, valueSizeBytes: 64,
                                     threads: 2, batch: workload == .c ? 8 : 1)
            config.keyspaces = 4
            let result = try BenchRunner(db: db, config: config).run()
            #expect(result.operations >= 400, "\(workload)")
            if workload != .d && workload != .e { #expect(result.found == result.reads, "\(workload)") }
        }
        try db.close()
    }
}
