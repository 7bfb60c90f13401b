import Glibc
import Synchronization
import Testing
@testable import RingKV

/// DB-level reverse and bounded iteration: prev / seekToLast /
/// seek(forPrev:) over memtables and every level, with deletes,
/// overwrites, snapshots, bounds, reverse scans, and concurrent writes,
/// flushes and compactions.
@Suite struct DBReverseIterationTests {
    static func key(_ i: Int) -> [UInt8] { bytes(String(format: "k%05d", i)) }

    /// Keys spread over L1+ (compacted), L0 (flushed) and the memtable,
    /// with overwrites and deletes in the newer layers.
    static func layeredDB(_ dir: TempDir, options: Options = openOptions()) throws -> (DB, [[UInt8]: [UInt8]]) {
        let db = try DB(path: dir.sub("db"), options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        for i in stride(from: 0, to: 3_000, by: 1) {
            try db.put(key(i), bytes("base\(i)"))
            model[key(i)] = bytes("base\(i)")
        }
        try db.compactRange()
        for i in stride(from: 0, to: 3_000, by: 7) {
            try db.put(key(i), bytes("l0-\(i)"))
            model[key(i)] = bytes("l0-\(i)")
        }
        for i in stride(from: 3, to: 3_000, by: 11) {
            try db.delete(key(i))
            model[key(i)] = nil
        }
        try db.flush()
        for i in stride(from: 5, to: 3_200, by: 13) {
            try db.put(key(i), bytes("mem\(i)"))
            model[key(i)] = bytes("mem\(i)")
        }
        for i in stride(from: 1, to: 3_000, by: 17) {
            try db.delete(key(i))
            model[key(i)] = nil
        }
        return (db, model)
    }

    static func sorted(_ model: [[UInt8]: [UInt8]]) -> [(key: [UInt8], value: [UInt8])] {
        model.map { (key: $0.key, value: $0.value) }.sorted { compareBytes($0.key, $1.key) < 0 }
    }

    @Test func reverseWalkSeesEveryLiveKeyNewestFirstAcrossAllLayers() throws {
        let dir = try TempDir()
        let (db, model) = try Self.layeredDB(dir)
        defer { try? db.close() }
        #expect(db.stats().levels.dropFirst().contains { $0.files > 0 }, "some data in L1+")
        #expect(db.stats().levels[0].files > 0, "some data in L0")
        let want = Self.sorted(model)
        let it = try db.makeIterator()
        try it.seekToLast()
        var got: [(key: [UInt8], value: [UInt8])] = []
        while it.isValid {
            got.append((it.key, it.value))
            try it.prev()
        }
        #expect(got.count == want.count)
        #expect(zip(got, want.reversed()).allSatisfy { $0.key == $1.key && $0.value == $1.value })

        // seek(forPrev:) on present, deleted and absent keys.
        for i in [0, 1, 3, 5, 777, 2_999, 3_100, 5_000] {
            try it.seek(forPrev: Self.key(i))
            let expected = want.last { compareBytes($0.key, Self.key(i)) <= 0 }
            #expect(it.isValid == (expected != nil) && (expected.map { it.key == $0.key && it.value == $0.value } ?? true),
                    "seek(forPrev: \(i))")
        }
        try it.seek(forPrev: bytes("a"))
        #expect(!it.isValid)
    }

    @Test func directionSwitchesLandOnNeighbours() throws {
        let dir = try TempDir()
        let (db, model) = try Self.layeredDB(dir)
        defer { try? db.close() }
        let want = Self.sorted(model)
        let it = try db.makeIterator()
        try it.seek(to: Self.key(1_500))
        var p = try #require(want.firstIndex { compareBytes($0.key, Self.key(1_500)) >= 0 })
        // next, prev, prev, next, ... in a zigzag that drifts backward.
        for round in 0..<200 {
            let forward = round % 3 == 0
            if forward { try it.next(); p += 1 } else { try it.prev(); p -= 1 }
            #expect(it.key == want[p].key && it.value == want[p].value, "round \(round)")
        }
    }

    @Test func snapshotsHoldInBothDirections() throws {
        let dir = try TempDir()
        let (db, model) = try Self.layeredDB(dir)
        defer { try? db.close() }
        let snap = db.snapshot()
        for i in stride(from: 0, to: 3_000, by: 2) { try db.delete(Self.key(i)) }
        for i in stride(from: 1, to: 3_000, by: 4) { try db.put(Self.key(i), bytes("after")) }
        try db.flush()
        let want = Self.sorted(model)
        let reversed = try db.scan(reverse: true, options: ReadOptions(snapshot: snap))
        #expect(reversed.map(\.key) == want.reversed().map(\.key))
        #expect(zip(reversed, want.reversed()).allSatisfy { $0.value == $1.value })
        // The latest view in reverse is the forward scan reversed.
        let latest = try db.scan(reverse: true)
        let forward = try db.scan()
        #expect(latest.map(\.key) == forward.reversed().map(\.key))
        #expect(zip(latest, forward.reversed()).allSatisfy { $0.value == $1.value })
        #expect(!latest.contains { $0.key == Self.key(0) })
    }

    @Test func boundsClampSeeksAndNeverYieldOutside() throws {
        let dir = try TempDir()
        let (db, model) = try Self.layeredDB(dir)
        defer { try? db.close() }
        let lower = Self.key(1_000), upper = Self.key(2_000)
        let inRange = Self.sorted(model).filter { compareBytes($0.key, lower) >= 0 && compareBytes($0.key, upper) < 0 }
        let it = try db.makeIterator(options: ReadOptions(lowerBound: lower, upperBound: upper))
        try it.seekToFirst()
        #expect(it.key == inRange.first!.key)
        try it.seekToLast()
        #expect(it.key == inRange.last!.key)
        try it.seek(to: Self.key(10))            // below lower: clamps up
        #expect(it.key == inRange.first!.key)
        try it.seek(forPrev: Self.key(2_900))    // above upper: clamps below it
        #expect(it.key == inRange.last!.key)
        try it.seek(forPrev: Self.key(10))       // below lower: nothing
        #expect(!it.isValid)
        try it.seek(to: Self.key(2_500))         // above upper: nothing
        #expect(!it.isValid)
        try it.seekToLast()
        try it.next()                            // off the upper end
        #expect(!it.isValid)
        try it.seekToFirst()
        try it.prev()                            // off the lower end
        #expect(!it.isValid)
        let empty = try db.makeIterator(options: ReadOptions(lowerBound: upper, upperBound: lower))
        try empty.seekToFirst()
        #expect(!empty.isValid)
        try empty.seekToLast()
        #expect(!empty.isValid)
    }

    @Test func reverseScanTakesTheLastKeysBelowToDownToFrom() throws {
        let dir = try TempDir()
        let (db, model) = try Self.layeredDB(dir)
        defer { try? db.close() }
        let all = Self.sorted(model)
        let from = Self.key(100), to = Self.key(200)
        let expected = all.filter { compareBytes($0.key, from) >= 0 && compareBytes($0.key, to) < 0 }
        let rows = try db.scan(from: from, to: to, limit: 10, reverse: true)
        #expect(rows.map(\.key) == expected.suffix(10).reversed().map(\.key))
        #expect(try db.scan(from: from, to: to, reverse: true).count == expected.count)
        #expect(try db.scan(from: from, to: to).map(\.key) == expected.map(\.key))
        #expect(try db.scan(reverse: true).map(\.key) == all.reversed().map(\.key))
        #expect(try db.scan(from: to, to: from, reverse: true).isEmpty)
        #expect(try db.scan(limit: 0, reverse: true).isEmpty)
        // Options bounds narrow the range further.
        let narrowed = try db.scan(from: from, to: to, reverse: true,
                                   options: ReadOptions(lowerBound: Self.key(150), upperBound: Self.key(190)))
        #expect(narrowed.map(\.key) == expected.filter {
            compareBytes($0.key, Self.key(150)) >= 0 && compareBytes($0.key, Self.key(190)) < 0
        }.reversed().map(\.key))
    }

    /// An iterator walks both ways at random while another thread
    /// overwrites and deletes, flushes and compacts: it keeps seeing the
    /// state of its creation.
    @Test func concurrentWritesFlushesAndCompactionsDoNotShowThrough() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        var options = CompactionFixtures.smallOptions()
        options.createIfMissing = true
        let (db, model) = try Self.layeredDB(dir, options: options)
        defer { try? db.close() }
        // The snapshot is taken before the writer starts: it reads `model`.
        let snap = db.snapshot()
        let stop = Atomic<Bool>(false)
        let writer = BackgroundThread.spawn {
            var round = 0
            while !stop.load(ordering: .relaxed) {
                for i in stride(from: round % 5, to: 3_200, by: 5) {
                    if i % 3 == 0 { _ = try? db.delete(Self.key(i)) } else { _ = try? db.put(Self.key(i), bytes("w\(round)")) }
                }
                _ = try? db.flush()
                if round % 3 == 2 { _ = try? db.compactRange() }
                round += 1
            }
        }
        defer {
            stop.store(true, ordering: .relaxed)
            writer.join()
        }
        func randomKey(_ rng: inout SeededRandom) -> [UInt8] { Self.key(Int.random(in: 0..<3_300, using: &rng)) }
        for round in 0..<6 {
            try IteratorWalk.check(db, model: model, options: ReadOptions(snapshot: snap), steps: 400,
                                   rng: &rng, randomKey: randomKey, context: "seed \(seed) round \(round)")
        }
    }
}
