import Testing
@testable import RingKV

/// Drives any internal iterator both ways against the sorted list of the
/// entries it holds: a full reverse walk, then random mixes of
/// seekToFirst/seekToLast/seek/seekForPrev/next/prev, checking the
/// position after every move.
enum InternalIteratorChecks {
    typealias Entry = (key: [UInt8], value: [UInt8])

    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in InternalKey.compare(pa, pb) } }
    }

    /// A seek target near a random entry: the entry itself, or a key just
    /// after its user key, or one of its user key at another sequence.
    static func randomTarget(_ entries: [Entry], _ rng: inout SeededRandom) -> [UInt8] {
        guard !entries.isEmpty else { return InternalKey.make(bytes("x"), 1, .value) }
        let e = entries[Int.random(in: 0..<entries.count, using: &rng)].key
        let user = Array(e.prefix(e.count - InternalKey.trailerSize))
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return e
        case 1: return InternalKey.make(user + [0], 5, .value)
        case 2: return InternalKey.make(user, UInt64.random(in: 0..<2_000, using: &rng), .value)
        default: return InternalKey.make(Array(user.dropLast()), 7, .value)
        }
    }

    static func walk(_ it: any InternalIterator, _ entries: [Entry], steps: Int, rng: inout SeededRandom,
                     _ context: String) throws {
        try it.seekToLast()
        var i = entries.count - 1
        while it.isValid, i >= 0 {
            #expect(Array(it.key) == entries[i].key && Array(it.value) == entries[i].value, "\(context) reverse at \(i)")
            i -= 1
            try it.prev()
        }
        #expect(i == -1 && !it.isValid, "\(context) reverse walk ended at \(i)")

        var position: Int? = nil
        for step in 0..<steps {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:
                try it.seekToFirst()
                position = entries.isEmpty ? nil : 0
            case 1:
                try it.seekToLast()
                position = entries.isEmpty ? nil : entries.count - 1
            case 2:
                let target = randomTarget(entries, &rng)
                try it.seek(target)
                position = entries.firstIndex { compare($0.key, target) >= 0 }
            case 3:
                let target = randomTarget(entries, &rng)
                try target.withUnsafeBytes { try it.seekForPrev($0) }
                position = entries.lastIndex { compare($0.key, target) <= 0 }
            case 4:
                guard let p = position else { continue }
                try it.next()
                position = p + 1 < entries.count ? p + 1 : nil
            default:
                guard let p = position else { continue }
                try it.prev()
                position = p > 0 ? p - 1 : nil
            }
            #expect(it.isValid == (position != nil), "\(context) step \(step)")
            if let p = position, it.isValid {
                #expect(Array(it.key) == entries[p].key && Array(it.value) == entries[p].value,
                        "\(context) step \(step) at \(p)")
            }
        }
    }
}

extension InternalIterator {
    /// `seek` taking an array (tests).
    func seek(_ target: [UInt8]) throws { try target.withUnsafeBytes { try seek($0) } }
}
