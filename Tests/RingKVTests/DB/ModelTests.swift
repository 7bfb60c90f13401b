import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Random operations against RingKV and a Swift dictionary side by side,
/// with flushes, reopens, snapshots and iterators (both directions, random
/// bounds: `IteratorWalk`) checked on the way.
@Suite struct ModelTests {
    @Test func randomOperationsMatchADictionaryAcrossFlushAndReopen() throws {
        try run(options: openOptions(memtableBytes: 64 << 10), operations: 100_000)
    }

    /// The same where io_uring_setup is refused (EPERM, as in a container
    /// or with `kernel.io_uring_disabled=2`): every path — WAL, flushes,
    /// compactions, reads — runs on plain syscalls.
    @Test func randomOperationsMatchADictionaryWithIOUringRefused() throws {
        var options = openOptions(memtableBytes: 64 << 10)
        options.faultPlan = FaultPlan([.init(kind: .ringSetup, nth: 1, errno: EPERM, sticky: true)])
        try run(options: options, operations: 30_000) { db in
            let stats = db.stats()
            #expect(stats.ioBackend == .posix && stats.walIOBackend == .posix)
        }
    }

    private func run(options: Options, operations: Int, check: (DB) throws -> Void = { _ in }) throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        let path = dir.sub("db")
        var db: DB? = try DB(path: path, options: options)
        if let db { try check(db) }
        var model: [[UInt8]: [UInt8]] = [:]
        var snapshots: [(Snapshot, [[UInt8]: [UInt8]])] = []
        let keySpace = 2000
        func randomKey(_ rng: inout SeededRandom) -> [UInt8] {
            bytes("key\(Int.random(in: 0..<keySpace, using: &rng))")
        }
        for step in 0..<operations {
            guard let handle = db else { break }
            let roll = Int.random(in: 0..<1000, using: &rng)
            switch roll {
            case 0..<550:
                let k = randomKey(&rng)
                let v = bytes("v\(step)-") + [UInt8](repeating: UInt8(step & 0xff), count: Int.random(in: 0..<64, using: &rng))
                try handle.put(k, v)
                model[k] = v
            case 550..<700:
                let k = randomKey(&rng)
                try handle.delete(k)
                model[k] = nil
            case 700..<745:
                try ModelSteps.writeRandomBatch(handle, step: step, model: &model, rng: &rng, randomKey: randomKey)
            case 745..<760:
                try ModelSteps.deleteRandomRange(handle, step: step, model: &model, rng: &rng, keySpace: keySpace,
                                                 keyAt: { bytes("key\($0)") }, inBatch: roll >= 755)
            case 760..<960:
                let k = randomKey(&rng)
                #expect(try handle.get(k) == model[k], "seed \(seed) step \(step) key \(String(decoding: k, as: UTF8.self))")
            case 960..<970:
                snapshots.append((handle.snapshot(), model))
                if snapshots.count > 4 { snapshots.removeFirst() }
            case 970..<980:
                if let (snap, old) = snapshots.randomElement(using: &rng) {
                    let k = randomKey(&rng)
                    #expect(try handle.get(k, options: ReadOptions(snapshot: snap)) == old[k], "seed \(seed) step \(step)")
                }
            case 980..<985:
                let from = randomKey(&rng)
                try ModelSteps.expectScanMatches(handle, from: from, model: model, context: "seed \(seed) step \(step)")
            case 985..<990:
                try ModelSteps.walkIterator(handle, model: model, snapshots: snapshots, rng: &rng, randomKey: randomKey,
                                            context: "seed \(seed) step \(step)")
            case 990..<996:
                try handle.flush()
            default:
                snapshots.removeAll()
                try handle.close()
                db = nil
                db = try DB(path: path, options: options)
            }
        }
        // Full comparison at the end, through a fresh open.
        try db?.close()
        db = nil
        let reopened = try DB(path: path, options: options)
        let all = try reopened.scan()
        #expect(all.count == model.count, "seed \(seed)")
        #expect(all.allSatisfy { model[$0.key] == $0.value }, "seed \(seed)")
        let it = try reopened.makeIterator()
        try it.seekToFirst()
        var previous: [UInt8]? = nil
        while it.isValid {
            if let previous { #expect(compareBytes(previous, it.key) < 0, "iterator order, seed \(seed)") }
            previous = it.key
            try it.next()
        }
        try reopened.close()
    }
}
