import Testing
@testable import RingKV

/// The drop rules, entry by entry.
@Suite struct CompactionEntryFilterTests {
    typealias F = CompactionFixtures

    /// Runs `entries` (user key, sequence, type), already in merge order,
    /// through a filter; returns the kept ones.
    private func kept(_ entries: [(String, UInt64, ValueType)], smallestSnapshot: UInt64,
                      deeper: [[FileMetaData]] = []) -> [(String, UInt64)] {
        var filter = CompactionEntryFilter(smallestSnapshot: smallestSnapshot, deeperLevels: deeper)
        var out: [(String, UInt64)] = []
        for (key, sequence, type) in entries {
            let decision = Array(key.utf8).withUnsafeBytes {
                filter.consider(userKey: $0, sequence: sequence, type: type.rawValue)
            }
            if decision == .keep { out.append((key, sequence)) }
        }
        return out
    }

    private func same(_ a: [(String, UInt64)], _ b: [(String, UInt64)]) -> Bool {
        a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    @Test func olderVersionsHiddenFromEveryReaderAreDropped() {
        let entries: [(String, UInt64, ValueType)] = [("a", 9, .value), ("a", 5, .value), ("a", 2, .value), ("b", 3, .value)]
        // No snapshot: readers are at 10, only the newest of "a" matters.
        #expect(same(kept(entries, smallestSnapshot: 10), [("a", 9), ("b", 3)]))
        // A snapshot at 6 still reads a@5; a@2 is hidden from it by a@5.
        #expect(same(kept(entries, smallestSnapshot: 6), [("a", 9), ("a", 5), ("b", 3)]))
        // A snapshot at 4 reads a@2.
        #expect(same(kept(entries, smallestSnapshot: 4), [("a", 9), ("a", 5), ("a", 2), ("b", 3)]))
    }

    @Test func tombstonesGoOnlyWhenNothingDeeperCanHoldTheKey() {
        let entries: [(String, UInt64, ValueType)] = [("a", 8, .deletion), ("a", 4, .value), ("c", 7, .deletion)]
        // Bottom level: the tombstones and what they hide all go.
        #expect(kept(entries, smallestSnapshot: 10).isEmpty)
        // A deeper table holding "c": its tombstone must stay; "a" still goes.
        let deeper = [[F.file(50, "b", "d")]]
        #expect(same(kept(entries, smallestSnapshot: 10, deeper: deeper), [("c", 7)]))
        // A snapshot older than a tombstone keeps it and the value below.
        #expect(same(kept(entries, smallestSnapshot: 5), [("a", 8), ("a", 4), ("c", 7)]))
    }

    @Test func deeperLevelCursorAnswersAscendingKeys() {
        var cursor = DeeperLevelCursor(levels: [[F.file(1, "b", "c"), F.file(2, "f", "g")], [], [F.file(3, "m", "p")]])
        let answers = ["a", "b", "c", "d", "f", "h", "n", "q"].map { key in
            Array(key.utf8).withUnsafeBytes { cursor.mayContain(userKey: $0) }
        }
        #expect(answers == [false, true, true, false, true, false, true, false])
    }
}
