import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// The whole engine with every read and write the kernel completes
/// reported short (FaultPlan `shortRead`/`shortWrite`, sticky): WAL
/// groups, flushes, compactions, gets, multiGets and prefetching scans go
/// through their real resubmission paths and give exactly the data of a
/// run without faults, before and after reopen; on io_uring and POSIX.
@Suite struct ShortTransferDBTests {
    @Test(arguments: [false, true])
    func everyReadAndWriteReportedShortStillGivesExactData(forcePosixIO: Bool) throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let plan = FaultPlan([FaultPlan.Rule(shortTransfer: .shortWrite, sticky: true),
                              FaultPlan.Rule(shortTransfer: .shortRead, sticky: true)])
        var options = openOptions(memtableBytes: 64 << 10)
        options.targetFileSizeBytes = 64 << 10
        options.l1TargetSizeBytes = 256 << 10
        options.blockCacheSizeBytes = 64 << 10
        options.forcePosixIO = forcePosixIO
        options.faultPlan = plan
        var model: [[UInt8]: [UInt8]] = [:]
        var rng = SeededRandom(seed: testSeed())
        let db = try DB(path: path, options: options)
        for i in 0..<3000 {
            let key = bytes("key\(Int.random(in: 0..<800, using: &rng))")
            if i % 10 == 9 {
                try db.delete(key, options: WriteOptions(sync: i % 3 == 0))
                model[key] = nil
            } else {
                let value = (0..<Int.random(in: 50..<400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                try db.put(key, value, options: WriteOptions(sync: i % 3 == 0))
                model[key] = value
            }
        }
        try db.flush()
        #expect(db.stats().flushes > 0)
        try check(db, against: model)
        let injected = plan.injectedCount
        #expect(injected > 0)
        try db.close()

        // Reopen with the faults still on: recovery reads the logs and
        // tables short too.
        let reopened = try DB(path: path, options: options)
        try check(reopened, against: model)
        try reopened.compactRange()
        try check(reopened, against: model)
        #expect(plan.injectedCount > injected)
        try reopened.close()
    }

    private func check(_ db: DB, against model: [[UInt8]: [UInt8]]) throws {
        let keys = model.keys.sorted { $0.lexicographicallyPrecedes($1) }
        for key in keys { #expect(try db.get(key) == model[key]) }
        let scanned = try db.scan()
        #expect(scanned.map(\.key) == keys)
        #expect(scanned.allSatisfy { model[$0.key] == $0.value })
        let probe = keys.prefix(64) + [bytes("absent")]
        #expect(try db.multiGet(Array(probe)) == probe.map { model[$0] })
    }
}
