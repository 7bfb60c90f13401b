import RingIO
import Testing
@testable import RingKV

/// `compactRange(from:to:)` and `approximateSize(from:to:)` on DB and
/// Keyspace (docs/KEYSPACES.md §Range maintenance): tables outside the
/// range are left alone, the range ends in one level with every value
/// intact, and size estimates follow the data.
@Suite struct RangeMaintenanceTests {
    /// No automatic compaction below 30 L0 tables: the tests place every table.
    static func manualOptions() -> Options {
        var options = openOptions()
        options.l0CompactionTrigger = 30
        options.l0SlowdownTrigger = 32
        options.l0StopTrigger = 36
        return options
    }

    /// Table numbers of each level of `keyspace`.
    static func levels(_ db: DB, _ keyspace: Keyspace) -> [[UInt64]] {
        let impl = db.impl
        return impl.mu.withLock {
            impl.versions.current(keyspace: keyspace.data.id).map { v in v.files.map { $0.map(\.number) } } ?? []
        }
    }

    static func key(_ prefix: String, _ i: Int) -> String {
        prefix + String(repeating: "0", count: 4 - String(i).count) + String(i)
    }

    @Test func compactRangeRewritesOnlyTheRangeAndKeepsEveryValue() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.manualOptions())
        let ks = try db.keyspace("ranged")
        var model: [String: String] = [:]
        func put(_ k: String, _ v: String) throws { try ks.put(k, v); model[k] = v }
        for prefix in ["a", "m", "z"] {
            for i in 0..<300 { try put(Self.key(prefix, i), "\(prefix)-v1-\(i)") }
            try ks.flush()
        }
        // A second, overlapping L0 table of the range, deletions, and
        // unflushed writes of it in the memtable.
        for i in stride(from: 0, to: 300, by: 3) { try put(Self.key("m", i), "m-v2-\(i)") }
        for i in stride(from: 1, to: 300, by: 7) { try ks.delete(Self.key("m", i)); model[Self.key("m", i)] = nil }
        try ks.flush()
        for i in stride(from: 2, to: 300, by: 5) { try put(Self.key("m", i), "m-v3-\(i)") }
        let before = Self.levels(db, ks)
        #expect(before[0].count == 4)
        #expect(before[1...].allSatisfy { $0.isEmpty })
        // L0 is newest first: [m second, z, m first, a].
        let aTable = before[0][3], zTable = before[0][1]

        try ks.compactRange(from: "m", to: "n")
        let after = Self.levels(db, ks)
        #expect(Set(after[0]) == [aTable, zTable], "tables outside the range keep their numbers: \(after)")
        #expect(!after[1].isEmpty && after[1].allSatisfy { !before[0].contains($0) })
        #expect(after[2...].allSatisfy { $0.isEmpty })

        // New data of the range over L1: merged into L1 again, a and z untouched.
        for i in stride(from: 0, to: 300, by: 11) { try put(Self.key("m", i), "m-v4-\(i)") }
        try ks.flush()
        try ks.compactRange(from: "m0100", to: nil)
        let third = Self.levels(db, ks)
        #expect(third[0].contains(aTable))
        #expect(!third[0].contains(zTable), "z lies in [m0100, end): compacted")
        // Everything of [m0100, end) lies in one level: no L0 table holds it.
        let v = try #require(db.impl.mu.withLock { db.impl.versions.current(keyspace: ks.data.id) })
        #expect(DBImpl.filesInRange(v, level: 0, from: Array("m0100".utf8), to: nil).isEmpty)

        for (k, value) in model { #expect(try ks.get(k) == value, "\(k)") }
        let rows = try ks.scan(from: "", to: nil)
        #expect(rows.count == model.count)
        for row in rows { #expect(model[String(decoding: row.key, as: UTF8.self)] == String(decoding: row.value, as: UTF8.self)) }
        try db.close()
    }

    @Test func dbCompactRangeActsOnDefaultAndAnotherKeyspaceIsUntouched() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: Self.manualOptions())
        let other = try await db.keyspace("other")
        for i in 0..<100 { try await db.put(Self.key("k", i), "d\(i)"); try await other.put(Self.key("k", i), "o\(i)") }
        try await db.flush()
        try await other.flush()
        let otherBefore = Self.levels(db, other)
        try await db.compactRange(from: Array("k0010".utf8), to: Array("k0020".utf8))
        let defaultKeyspace = try await db.keyspace("default")
        #expect(Self.levels(db, defaultKeyspace)[0].isEmpty)
        #expect(Self.levels(db, defaultKeyspace)[1].count == 1)
        #expect(Self.levels(db, other) == otherBefore)
        #expect(try await db.get("k0015") == "d15")
        try await other.compactRange(from: nil, to: Array("k0050".utf8))
        #expect(Self.levels(db, other)[0].isEmpty)
        #expect(try await other.get("k0099") == "o99")
        try await db.close()
    }

    @Test func invertedRangeIsRefused() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.manualOptions())
        let ks = try db.keyspace("x")
        for call in [{ try db.compactRange(from: "b", to: "a") }, { try ks.compactRange(from: "b", to: "a") },
                     { _ = try db.approximateSize(from: "b", to: "a") },
                     { _ = try ks.approximateSize(from: "b", to: "a") }] {
            let error = KeyspaceTests.keyspaceError(call)
            guard case .invalidRange(let from, let to)? = error else {
                Issue.record("expected invalidRange, got \(String(describing: error))")
                continue
            }
            #expect(from == Array("b".utf8) && to == Array("a".utf8))
        }
        try db.close()
    }

    @Test func approximateSizeFollowsTheData() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.manualOptions())
        let ks = try db.keyspace("sized")
        var rng = SplitMix64(seed: 23)
        for i in 0..<4000 {
            let value = (0..<100).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try ks.put(Array(Self.key("k", i).utf8), value)
        }
        #expect(try ks.approximateSize(from: nil, to: nil) == 0, "memtables are not counted")
        try ks.flush()
        let total = try ks.approximateSize(from: nil as [UInt8]?, to: nil)
        #expect(total == Int(ks.stats().bytes))
        let lowHalf = try ks.approximateSize(from: nil, to: "k2000")
        let highHalf = try ks.approximateSize(from: "k2000", to: nil)
        let middle = try ks.approximateSize(from: "k1000", to: "k3000")
        for half in [lowHalf, highHalf, middle] {
            #expect(half > total * 35 / 100 && half < total * 65 / 100, "\(half) of \(total)")
        }
        #expect(lowHalf + highHalf <= total)
        #expect(try ks.approximateSize(from: "k1000", to: "k1000") == 0)
        #expect(try ks.approximateSize(from: "x", to: "y") == 0)
        #expect(try ks.approximateSize(from: "k1000a", to: "k1000b") < total / 20)
        #expect(try db.approximateSize(from: nil as [UInt8]?, to: nil) == 0, "default holds nothing")
        try db.close()
    }
}
