import Testing
@testable import RingKV

/// Steps the randomized model tests share (ModelTests, CompactionModelTests):
/// each applies the same operation to the database and the dictionary, or
/// checks the database against it. RNG draws happen in a fixed order so a
/// printed seed replays the run.
enum ModelSteps {
    typealias Model = [[UInt8]: [UInt8]]

    /// A batch of 1...8 random puts and deletes, applied atomically.
    static func writeRandomBatch(_ db: DB, step: Int, model: inout Model, rng: inout SeededRandom,
                                 randomKey: (inout SeededRandom) -> [UInt8]) throws {
        var batch = WriteBatch()
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            let k = randomKey(&rng)
            if Bool.random(using: &rng) {
                batch.put(k, bytes("b\(step)"))
                model[k] = bytes("b\(step)")
            } else {
                batch.delete(k)
                model[k] = nil
            }
        }
        try db.write(batch)
    }

    /// A fresh iterator walked both ways with random bounds
    /// (`IteratorWalk`), reading the latest state or, half the time, one of
    /// `snapshots` with the model of its moment.
    static func walkIterator(_ db: DB, model: Model, snapshots: [(Snapshot, Model)], rng: inout SeededRandom,
                             randomKey: (inout SeededRandom) -> [UInt8], context: String) throws {
        var readOptions = ReadOptions()
        var expected = model
        if Bool.random(using: &rng), let (snap, old) = snapshots.randomElement(using: &rng) {
            readOptions.snapshot = snap
            expected = old
        }
        try IteratorWalk.check(db, model: expected, options: readOptions, steps: 60, rng: &rng,
                               randomKey: randomKey, context: context)
    }

    /// `scan(from:limit: 20)` returns exactly the model's next 20 keys, with
    /// their values.
    static func expectScanMatches(_ db: DB, from: [UInt8], model: Model, context: String) throws {
        let rows = try db.scan(from: from, limit: 20)
        let expected = model.keys.filter { compareBytes($0, from) >= 0 }
            .sorted { compareBytes($0, $1) < 0 }.prefix(20)
        #expect(rows.map(\.key) == Array(expected), "\(context) scan")
        #expect(rows.allSatisfy { model[$0.key] == $0.value }, "\(context) scan values")
    }
}
