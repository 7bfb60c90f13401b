import Testing
@testable import RingKV

/// `DB.entries(from:to:reverse:limit:options:)` (API/DBEntries.swift).
@Suite struct AsyncEntriesTests {
    /// Copies of one iterator are one position: the rows come out once
    /// each, in order, whichever copy asks (the cursor and its buffered
    /// chunk are shared, not just the cursor).
    @Test func copiesOfAnIteratorShareOnePosition() async throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        let want = try Sync.scan(db)
        #expect(want.count > 3 * DBEntries.maxChunkRows)
        var a = db.entries().makeAsyncIterator()
        var b = a
        var got: [[UInt8]] = []
        var turn = 0
        while true {
            let row = turn % 3 == 2 ? try await b.next() : try await a.next()
            guard let row else { break }
            got.append(row.key)
            turn += 1
        }
        let firstDifference = Array(zip(got, want.map(\.key))).firstIndex { $0.0 != $0.1 }
        #expect(got.count == want.count && firstDifference == nil,
                "\(got.count) rows for \(want.count); first difference at row \(firstDifference.map(String.init) ?? "-")")
        #expect(try await b.next() == nil)
    }

    @Test func reverseAndLimitMatchScan() async throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        let from = ReadTestSupport.key(150)
        let to = ReadTestSupport.key(820)
        for reverse in [false, true] {
            for limit in [0, 1, 5, 16, 17, 300, Int.max] {
                let want = try db.scanRowsForTest(from: from, to: to, limit: limit, reverse: reverse)
                var got: [(key: [UInt8], value: [UInt8])] = []
                for try await row in db.entries(from: from, to: to, reverse: reverse, limit: limit) { got.append(row) }
                #expect(got.map(\.key) == want.map(\.key) && got.map(\.value) == want.map(\.value),
                        "reverse \(reverse), limit \(limit)")
            }
            // Unbounded ends.
            let all = try db.scanRowsForTest(from: [], to: nil, limit: .max, reverse: reverse)
            var got: [[UInt8]] = []
            for try await row in db.entries(reverse: reverse) { got.append(row.key) }
            #expect(got == all.map(\.key))
        }
    }

    /// A limit stops the reading: no more rows are taken from the table
    /// iterators than the limit (the first chunk is cut to it).
    @Test func aLimitStopsTheReading() async throws {
        let layered = try LayeredDB(directReads: false)
        let db = layered.db
        for reverse in [false, true] {
            var iterator = db.entries(reverse: reverse, limit: 3).makeAsyncIterator()
            var seen = 0
            while try await iterator.next() != nil { seen += 1 }
            #expect(seen == 3)
            #expect(iterator.cursor.rowsRead == 3)
        }
    }
}

extension DB {
    /// The synchronous `scan` (an async test would pick no overload of
    /// that name, but keeps this one unambiguous).
    func scanRowsForTest(from: [UInt8], to: [UInt8]?, limit: Int, reverse: Bool) throws -> [(key: [UInt8], value: [UInt8])] {
        try scan(from: from, to: to, limit: limit, reverse: reverse)
    }
}
