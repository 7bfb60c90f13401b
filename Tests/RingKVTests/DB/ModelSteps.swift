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

    /// A range deletion over a random stretch of the key space (key `i` up
    /// to key `i + 0...60`, whichever sorts first as the start), through
    /// `deleteRange` or, with `inBatch`, inside a batch between puts.
    static func deleteRandomRange(_ db: DB, step: Int, model: inout Model, rng: inout SeededRandom, keySpace: Int,
                                  keyAt: (Int) -> [UInt8], inBatch: Bool) throws {
        let first = Int.random(in: 0..<keySpace, using: &rng)
        var from = keyAt(first), to = keyAt(first + Int.random(in: 0...60, using: &rng))
        if compareBytes(from, to) > 0 { swap(&from, &to) }
        let deleted = { (model: inout Model) in
            for k in model.keys where compareBytes(k, from) >= 0 && compareBytes(k, to) < 0 { model[k] = nil }
        }
        guard inBatch else {
            try db.deleteRange(from: from, to: to)
            deleted(&model)
            return
        }
        var batch = WriteBatch()
        let before = keyAt(Int.random(in: 0..<keySpace, using: &rng))
        let after = keyAt(Int.random(in: 0..<keySpace, using: &rng))
        batch.put(before, bytes("r\(step)"))
        model[before] = bytes("r\(step)")
        batch.deleteRange(from: from, to: to)
        deleted(&model)
        batch.put(after, bytes("s\(step)"))
        model[after] = bytes("s\(step)")
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
