import Testing
@testable import RingKV

/// Random operations against RingKV with options that make it compact all
/// the time, and a Swift dictionary side by side. Snapshots and iterators
/// are held across compactions; L1+ must never overlap.
@Suite struct CompactionModelTests {
    typealias F = CompactionFixtures

    /// An iterator opened at some step and the model as it was then.
    private struct HeldIterator {
        var iterator: DBIterator
        var expected: [[UInt8]: [UInt8]]
        var openedAt: Int
    }

    @Test(arguments: [1, 2, 4])
    func randomOperationsMatchADictionaryWhileCompacting(backgroundJobs: Int) throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        let path = dir.sub("db")
        // Incompressible values and a small L1 with multiplier 4: the data
        // (~1 MB live) spreads over L0-L3.
        let options = F.smallOptions(l1Bytes: 128 << 10, jobs: backgroundJobs)
        var db: DB? = try DB(path: path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        var snapshots: [(Snapshot, [[UInt8]: [UInt8]])] = []
        var iterators: [HeldIterator] = []
        // Stats restart at every open.
        var compactionsBeforeReopen: UInt64 = 0
        let keySpace = 5000
        func randomKey(_ rng: inout SeededRandom) -> [UInt8] { compactionKey(Int.random(in: 0..<keySpace, using: &rng)) }
        let operations = 30_000
        for step in 0..<operations {
            guard let handle = db else { break }
            let roll = Int.random(in: 0..<1000, using: &rng)
            switch roll {
            case 0..<600:
                let k = randomKey(&rng)
                let v = bytes("v\(step)-") + (0..<Int.random(in: 20..<400, using: &rng)).map { _ in
                    UInt8.random(in: 0...255, using: &rng)
                }
                try handle.put(k, v)
                model[k] = v
            case 600..<760:
                let k = randomKey(&rng)
                try handle.delete(k)
                model[k] = nil
            case 760..<788:
                try ModelSteps.writeRandomBatch(handle, step: step, model: &model, rng: &rng, randomKey: randomKey)
            case 788..<800:
                try ModelSteps.deleteRandomRange(handle, step: step, model: &model, rng: &rng, keySpace: keySpace,
                                                 keyAt: compactionKey, inBatch: roll >= 796)
            case 800..<950:
                let k = randomKey(&rng)
                #expect(try handle.get(k) == model[k], "seed \(seed) step \(step) key \(String(decoding: k, as: UTF8.self))")
            case 950..<958:
                snapshots.append((handle.snapshot(), model))
                if snapshots.count > 3 { snapshots.removeFirst() }
            case 958..<975:
                if let (snap, old) = snapshots.randomElement(using: &rng) {
                    let k = randomKey(&rng)
                    #expect(try handle.get(k, options: ReadOptions(snapshot: snap)) == old[k], "seed \(seed) step \(step) snapshot")
                }
            case 975..<980:
                iterators.append(HeldIterator(iterator: try handle.makeIterator(), expected: model, openedAt: step))
                if iterators.count > 2 { try checkAndDrop(iterators.removeFirst(), seed: seed) }
            case 980..<985:
                let from = randomKey(&rng)
                try ModelSteps.expectScanMatches(handle, from: from, model: model, context: "seed \(seed) step \(step)")
            case 985..<990:
                try ModelSteps.walkIterator(handle, model: model, snapshots: snapshots, rng: &rng, randomKey: randomKey,
                                            context: "seed \(seed) step \(step)")
            case 990..<994:
                #expect(F.levelsDoNotOverlap(handle.impl.versions.current), "seed \(seed) step \(step) overlap")
            case 994..<998:
                try handle.flush()
            case 998:
                if Bool.random(using: &rng) { try handle.compactRange() }
            default:
                guard Bool.random(using: &rng) else { break }
                for held in iterators { try checkAndDrop(held, seed: seed) }
                iterators.removeAll()
                snapshots.removeAll()
                compactionsBeforeReopen += handle.stats().compactions
                try handle.close()
                db = nil
                db = try DB(path: path, options: options)
            }
        }
        let handle = try #require(db)
        for held in iterators { try checkAndDrop(held, seed: seed) }
        iterators.removeAll()
        // Old snapshots still read their old values after everything above.
        for (snap, old) in snapshots {
            for _ in 0..<200 {
                let k = randomKey(&rng)
                #expect(try handle.get(k, options: ReadOptions(snapshot: snap)) == old[k], "seed \(seed) final snapshot")
            }
        }
        snapshots.removeAll()
        #expect(F.waitForBackgroundWork(handle), "seed \(seed): background work did not settle")
        let compactions = compactionsBeforeReopen + handle.stats().compactions
        #expect(compactions > 20, "seed \(seed): only \(compactions) compactions")
        #expect(F.levelsDoNotOverlap(handle.impl.versions.current), "seed \(seed)")
        // Every table on disk is live, and every live table is on disk, once
        // no reader holds an old version and the sweep has run.
        handle.impl.deleteObsoleteFiles()
        #expect(try F.tableFilesOnDisk(path) == handle.impl.versions.current.fileNumbers, "seed \(seed) stray tables")
        let all = try handle.scan()
        #expect(all.count == model.count, "seed \(seed)")
        #expect(all.allSatisfy { model[$0.key] == $0.value }, "seed \(seed)")
        try handle.close()
        db = nil
        let reopened = try DB(path: path, options: options)
        let again = try reopened.scan()
        #expect(again.count == model.count && again.allSatisfy { model[$0.key] == $0.value }, "seed \(seed) after reopen")
        try reopened.close()
    }

    /// Walks a held iterator from the start and compares with the model of
    /// the moment it was opened.
    private func checkAndDrop(_ held: HeldIterator, seed: UInt64) throws {
        let it = held.iterator
        try it.seekToFirst()
        var seen = 0
        var ok = true
        while it.isValid {
            if held.expected[it.key] != it.value { ok = false }
            seen += 1
            try it.next()
        }
        #expect(ok && seen == held.expected.count,
                "seed \(seed): iterator opened at step \(held.openedAt) saw \(seen) rows, expected \(held.expected.count)")
        // And backward, over the same (possibly since compacted) tables.
        try it.seekToLast()
        var back = 0
        var previous: [UInt8]? = nil
        while it.isValid {
            if held.expected[it.key] != it.value { ok = false }
            if let previous, compareBytes(it.key, previous) >= 0 { ok = false }
            previous = it.key
            back += 1
            try it.prev()
        }
        #expect(ok && back == held.expected.count,
                "seed \(seed): iterator opened at step \(held.openedAt) saw \(back) rows backward, expected \(held.expected.count)")
    }
}
