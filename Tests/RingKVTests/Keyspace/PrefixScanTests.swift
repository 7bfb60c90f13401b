import Testing
@testable import RingKV

/// `scan(prefix:)`, `ReadOptions(prefix:)` and `ReadOptions.prefixEnd`
/// against a model: random binary keys over a small alphabet (0x00 and
/// 0xFF included, so prefixes end on byte boundaries), written to "default"
/// and to a keyspace with a prefix filter, across flushes, compactions and
/// a reopen; every prefix checked forward, reverse, with limits and as
/// iterator bounds. RINGKV_SEED replays a run.
@Suite struct PrefixScanTests {
    static let alphabet: [UInt8] = [0x00, 0x01, 0x61, 0x62, 0xfe, 0xff]

    static func randomKey(_ rng: inout SeededRandom, maxLength: Int) -> [UInt8] {
        (0..<Int.random(in: 1...maxLength, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
    }

    @Test func prefixEndAtByteBoundaries() {
        #expect(ReadOptions.prefixEnd([]) == nil)
        #expect(ReadOptions.prefixEnd([0xff]) == nil)
        #expect(ReadOptions.prefixEnd([0xff, 0xff, 0xff]) == nil)
        #expect(ReadOptions.prefixEnd([0x61]) == [0x62])
        #expect(ReadOptions.prefixEnd([0x61, 0xff]) == [0x62])
        #expect(ReadOptions.prefixEnd([0x61, 0xff, 0x00]) == [0x61, 0xff, 0x01])
        #expect(ReadOptions.prefixEnd([0x00, 0xfe, 0xff, 0xff]) == [0x00, 0xff])
        let options = ReadOptions(prefix: [0x61, 0xff])
        #expect(options.lowerBound == [0x61, 0xff] && options.upperBound == [0x62])
        let open = ReadOptions(prefix: [0xff])
        #expect(open.lowerBound == [0xff] && open.upperBound == nil)
    }

    /// What `scan(prefix:limit:reverse:)` must return.
    static func expected(_ model: [[UInt8]: [UInt8]], _ prefix: [UInt8], limit: Int, reverse: Bool)
        -> [[UInt8]] {
        let keys = model.keys.filter { $0.starts(with: prefix) }.sorted { $0.lexicographicallyPrecedes($1) }
        return Array((reverse ? keys.reversed() : keys).prefix(limit))
    }

    static func check(_ scan: ([UInt8], Int, Bool) throws -> [(key: [UInt8], value: [UInt8])],
                      iterate: ([UInt8]) throws -> [[UInt8]],
                      model: [[UInt8]: [UInt8]], prefixes: [[UInt8]], context: String) throws {
        for prefix in prefixes {
            for (limit, reverse) in [(Int.max, false), (Int.max, true), (1, false), (3, true), (0, false)] {
                let rows = try scan(prefix, limit, reverse)
                let want = expected(model, prefix, limit: limit, reverse: reverse)
                #expect(rows.map(\.key) == want, "\(context): prefix \(prefix) limit \(limit) reverse \(reverse)")
                #expect(rows.allSatisfy { model[$0.key] == $0.value }, "\(context): values of \(prefix)")
            }
            let walked = try iterate(prefix)
            #expect(walked == expected(model, prefix, limit: .max, reverse: false), "\(context): iterator \(prefix)")
        }
    }

    @Test func prefixScansMatchAModel() throws {
        let seed = testSeed()
        print("PrefixScanTests seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        var options = CompactionFixtures.smallOptions(memtableBytes: 16 << 10, targetFileBytes: 16 << 10,
                                                      l1Bytes: 64 << 10)
        options.blockSizeBytes = 512
        var model: [[UInt8]: [UInt8]] = [:]
        var keyed: [[UInt8]: [UInt8]] = [:]
        var prefixes: [[UInt8]] = [[], [0xff], [0xff, 0xff], [0x00], [0x61, 0xff], [0xfe, 0xff, 0xff], [0x62, 0x00]]
        for _ in 0..<30 { prefixes.append(Self.randomKey(&rng, maxLength: 4)) }
        for round in 0..<3 {
            let db = try DB(path: dir.sub("db"), options: options)
            let ks = try db.keyspace("p", options: KeyspaceOptions(prefixLength: 2))
            for step in 0..<1500 {
                let key = Self.randomKey(&rng, maxLength: 5)
                if Int.random(in: 0..<5, using: &rng) == 0 {
                    try db.delete(key); model[key] = nil
                    try ks.delete(key); keyed[key] = nil
                } else {
                    let value = Array("\(round)-\(step)".utf8) + Array(repeating: 0x2e, count: 40)
                    try db.put(key, value); model[key] = value
                    try ks.put(key, value); keyed[key] = value
                }
                if step % 500 == 499 { try db.flush(); try ks.flush() }
            }
            if round == 1 { try db.compactRange(); try ks.compactRange() }
            try Self.check({ try db.scan(prefix: $0, limit: $1, reverse: $2) }, iterate: { prefix in
                let it = try db.makeIterator(options: ReadOptions(prefix: prefix))
                var keys: [[UInt8]] = []
                try it.seekToFirst()
                while it.isValid { keys.append(it.key); try it.next() }
                return keys
            }, model: model, prefixes: prefixes, context: "default, round \(round), seed \(seed)")
            try Self.check({ try ks.scan(prefix: $0, limit: $1, reverse: $2) }, iterate: { prefix in
                let it = try ks.makeIterator(options: ReadOptions(prefix: prefix))
                var keys: [[UInt8]] = []
                try it.seekToLast()
                while it.isValid { keys.append(it.key); try it.prev() }
                return keys.reversed()
            }, model: keyed, prefixes: prefixes, context: "keyspace, round \(round), seed \(seed)")
            try db.close()
        }
    }

    @Test func asyncEntriesOfAPrefix() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: openOptions())
        let ks = try await db.keyspace("k", options: KeyspaceOptions(prefixLength: 1))
        for key in ["a", "ab", "b", "b\u{1}", "c"] {
            try await db.put(bytes(key), bytes("v")); try await ks.put(bytes(key), bytes("w"))
        }
        try await ks.flush()
        var keys: [String] = []
        for try await row in db.entries(prefix: bytes("b")) { keys.append(String(decoding: row.key, as: UTF8.self)) }
        #expect(keys == ["b", "b\u{1}"])
        keys = []
        for try await row in ks.entries(prefix: bytes("a"), reverse: true) {
            keys.append(String(decoding: row.key, as: UTF8.self))
        }
        #expect(keys == ["ab", "a"])
        #expect(try ks.scan(prefix: "b").map(\.value) == [bytes("w"), bytes("w")])
        try await db.close()
    }
}
