import Testing
@testable import RingKV

/// Random mixes of seekToFirst / seekToLast / seek(to:) / seek(forPrev:) /
/// next / prev over a DB iterator with random bounds, checked after every
/// move against the sorted model (the keys within the bounds). Shared by
/// the iterator model tests and ModelTests.
enum IteratorWalk {
    typealias Model = [[UInt8]: [UInt8]]

    /// Random bounds over `randomKey`'s key space: each end absent a third
    /// of the time; now and then an empty range (lower >= upper).
    static func randomBounds(_ rng: inout SeededRandom,
                             randomKey: (inout SeededRandom) -> [UInt8]) -> (lower: [UInt8]?, upper: [UInt8]?) {
        let lower = Int.random(in: 0..<3, using: &rng) == 0 ? nil : randomKey(&rng)
        let upper = Int.random(in: 0..<3, using: &rng) == 0 ? nil : randomKey(&rng)
        if let l = lower, let u = upper, compareBytes(l, u) > 0, Int.random(in: 0..<4, using: &rng) != 0 {
            return (u, l)
        }
        return (lower, upper)
    }

    /// Walks a fresh iterator of `db` (`options` plus random bounds) for
    /// `steps` moves; `model` is the state `options` reads.
    static func check(_ db: DB, model: Model, options: ReadOptions = ReadOptions(), steps: Int,
                      rng: inout SeededRandom, randomKey: (inout SeededRandom) -> [UInt8], context: String) throws {
        var options = options
        (options.lowerBound, options.upperBound) = randomBounds(&rng, randomKey: randomKey)
        let rows = model.filter { key, _ in
            (options.lowerBound.map { compareBytes(key, $0) >= 0 } ?? true)
                && (options.upperBound.map { compareBytes(key, $0) < 0 } ?? true)
        }.sorted { compareBytes($0.key, $1.key) < 0 }
        let it = try db.makeIterator(options: options)
        let where_ = "\(context) bounds \(describe(options.lowerBound))..<\(describe(options.upperBound))"
        var position: Int? = nil
        var moves: [String] = []
        for step in 0..<steps {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                try it.seekToFirst()
                position = rows.isEmpty ? nil : 0
                moves.append("first")
            case 1:
                try it.seekToLast()
                position = rows.isEmpty ? nil : rows.count - 1
                moves.append("last")
            case 2:
                let target = randomKey(&rng)
                try it.seek(to: target)
                position = rows.firstIndex { compareBytes($0.key, target) >= 0 }
                moves.append("seek \(describe(target))")
            case 3:
                let target = randomKey(&rng)
                try it.seek(forPrev: target)
                position = rows.lastIndex { compareBytes($0.key, target) <= 0 }
                moves.append("seekForPrev \(describe(target))")
            case 4...6:
                guard let p = position else { continue }
                try it.next()
                position = p + 1 < rows.count ? p + 1 : nil
                moves.append("next")
            default:
                guard let p = position else { continue }
                try it.prev()
                position = p > 0 ? p - 1 : nil
                moves.append("prev")
            }
            let trail = moves.suffix(6).joined(separator: ", ")
            #expect(it.isValid == (position != nil), "\(where_) step \(step) after \(trail)")
            guard let p = position, it.isValid else {
                if it.isValid != (position != nil) { return }
                continue
            }
            #expect(it.key == rows[p].key, "\(where_) step \(step) after \(trail): \(describe(it.key)) != \(describe(rows[p].key))")
            if step % 2 == 0 {
                #expect(it.value == rows[p].value, "\(where_) step \(step) value")
            } else {
                #expect(it.withValue { Array($0) } == rows[p].value, "\(where_) step \(step) withValue")
            }
            if it.key != rows[p].key { return }
        }
    }

    static func describe(_ key: [UInt8]?) -> String {
        guard let key else { return "nil" }
        return String(decoding: key, as: UTF8.self)
    }
}
