import Testing
@testable import RingKV

/// The user iterator over every depth (memtable, L0, level iterators over
/// several tables per level), with the array and the zero-copy accessors.
@Suite struct DBIteratorTests {
    /// The model's keys >= `from` in order, as the iterator must show them.
    static func expected(_ model: [Int: [UInt8]], from: Int) -> [([UInt8], [UInt8])] {
        model.filter { $0.key >= from }.map { (ReadTestSupport.key($0.key), $0.value) }
            .sorted { compareBytes($0.0, $1.0) < 0 }
    }

    @Test func walksEveryLevelAsTheModelWithZeroCopyAccessors() throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        #expect(db.impl.versions.current.files[3].count == 3, "L3 holds several tables: the level iterator crosses them")
        for (options, model) in [(ReadOptions(), layered.model),
                                 (ReadOptions(snapshot: layered.snapshot), layered.snapshotModel)] {
            for from in [0, 1, 399, 400, 650, 999, 1000] {
                let it = try db.makeIterator(options: options)
                try it.seek(to: ReadTestSupport.key(from))
                var got: [([UInt8], [UInt8])] = []
                while it.isValid {
                    let key = it.withKey { Array($0) }
                    let value = it.withValue { Array($0) }
                    #expect(key == it.key && value == it.value)
                    got.append((key, value))
                    try it.next()
                }
                let want = Self.expected(model, from: from)
                #expect(got.count == want.count, "from \(from)")
                #expect(zip(got, want).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }, "from \(from)")
            }
        }
    }

    @Test func seekToFirstAndScanMatchTheModel() throws {
        let layered = try LayeredDB(directReads: true)
        let it = try layered.db.makeIterator()
        try it.seekToFirst()
        var count = 0
        while it.isValid {
            count += 1
            try it.next()
        }
        #expect(count == layered.model.count)
        #expect(it.key.isEmpty && it.value.isEmpty)  // not valid: empty arrays
        let rows = try layered.db.scan(from: ReadTestSupport.key(500), to: ReadTestSupport.key(600))
        let want = Self.expected(layered.model, from: 500).filter { compareBytes($0.0, ReadTestSupport.key(600)) < 0 }
        #expect(rows.map(\.key) == want.map(\.0) && rows.map(\.value) == want.map(\.1))
    }
}
