import Synchronization
import Testing
@testable import RingKV

/// A wall clock tests move by hand (`Options.ttlClock`): nanoseconds
/// since the Unix epoch.
final class TTLTestClock: Sendable {
    /// The time every reading returns (atomic: read by any thread).
    let nanos: Atomic<UInt64>
    init(_ start: UInt64 = 1_700_000_000 * 1_000_000_000) { nanos = Atomic(start) }
    var now: UInt64 { nanos.load(ordering: .relaxed) }
    func set(_ value: UInt64) { nanos.store(value, ordering: .relaxed) }
    func advance(_ delta: UInt64) { nanos.store(now + delta, ordering: .relaxed) }
    func advanceSeconds(_ s: UInt64) { advance(s * 1_000_000_000) }
}

enum TTLFixtures {
    typealias Contents = [String: String]

    static func options(_ clock: TTLTestClock, memtableBytes: Int = 64 << 20) -> Options {
        var options = openOptions(memtableBytes: memtableBytes)
        options.ttlClock = { clock.now }
        return options
    }

    static func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    /// What every read path of `ks` shows for `keys`, by path name: get,
    /// withValue, multiGet (each key), forward and reverse iteration,
    /// scan both ways, async get, multiGet and entries, a transaction's
    /// get and iterator. `options` (a snapshot) where a path takes it.
    static func everyPath(_ db: DB, _ ks: Keyspace, keys: [String],
                          options: ReadOptions = ReadOptions()) async throws -> [String: Contents] {
        var seen = try syncPaths(db, ks, keys: keys, options: options)
        var asyncGet = Contents(), asyncMulti = Contents(), entries = Contents()
        let asyncMany = try await ks.multiGet(keys.map { Array($0.utf8) }, options: options)
        for (i, k) in keys.enumerated() {
            if let v = try await ks.get(Array(k.utf8), options: options) { asyncGet[k] = text(v) }
            if let v = asyncMany[i] { asyncMulti[k] = text(v) }
        }
        for try await row in ks.entries(options: options) { entries[text(row.key)] = text(row.value) }
        seen["async get"] = asyncGet
        seen["async multiGet"] = asyncMulti
        seen["entries"] = entries
        return seen
    }

    /// The synchronous paths of `everyPath`.
    static func syncPaths(_ db: DB, _ ks: Keyspace, keys: [String],
                          options: ReadOptions = ReadOptions()) throws -> [String: Contents] {
        var seen: [String: Contents] = [:]
        var get = Contents(), lent = Contents(), multi = Contents()
        let many = try ks.multiGet(keys.map { Array($0.utf8) }, options: options)
        for (i, k) in keys.enumerated() {
            if let v = try ks.get(Array(k.utf8), options: options) { get[k] = text(v) }
            if let v = try ks.withValue(forKey: k, options: options, { text(Array($0)) }) { lent[k] = v }
            if let v = many[i] { multi[k] = text(v) }
        }
        seen["get"] = get
        seen["withValue"] = lent
        seen["multiGet"] = multi
        var forward = Contents(), backward = Contents(), lentIter = Contents()
        let it = try ks.makeIterator(options: options)
        try it.seekToFirst()
        while it.isValid {
            forward[text(it.key)] = text(it.value)
            it.withValue { lentIter[text(it.key)] = text(Array($0)) }
            try it.next()
        }
        try it.seekToLast()
        while it.isValid {
            backward[text(it.key)] = text(it.value)
            try it.prev()
        }
        // Each key by a seek (expired keys are skipped past).
        var seeks = Contents()
        for k in keys {
            try it.seek(to: k)
            if it.isValid, text(it.key) == k { seeks[k] = text(it.value) }
            try it.seek(forPrev: k)
            if it.isValid, text(it.key) == k, seeks[k] != text(it.value) { seeks[k] = "prev differs" }
        }
        seen["iterator"] = forward
        seen["iterator.withValue"] = lentIter
        seen["reverse iterator"] = backward
        seen["seek"] = seeks
        seen["scan"] = Dictionary(try ks.scan(options: options).map { (text($0.key), text($0.value)) },
                                  uniquingKeysWith: { a, _ in a })
        seen["reverse scan"] = Dictionary(try ks.scan(reverse: true, options: options).map {
            (text($0.key), text($0.value)) }, uniquingKeysWith: { a, _ in a })
        if options.snapshot == nil {
            let txn = db.beginTransaction()
            var txnGet = Contents()
            for k in keys { if let v = try txn.get(Array(k.utf8), in: ks) { txnGet[k] = text(v) } }
            seen["transaction get"] = txnGet
            seen["transaction scan"] = Dictionary(try txn.scan(in: ks).map { (text($0.key), text($0.value)) },
                                                  uniquingKeysWith: { a, _ in a })
            txn.rollback()
        }
        return seen
    }

    /// Expects every path to show exactly `expected`.
    static func expectEveryPath(_ db: DB, _ ks: Keyspace, keys: [String], _ expected: Contents, _ context: String,
                                options: ReadOptions = ReadOptions()) async throws {
        for (path, got) in try await everyPath(db, ks, keys: keys, options: options) {
            #expect(got == expected, Comment(rawValue: "\(context): \(path) shows \(got.sorted { $0.key < $1.key }), "
                    + "expected \(expected.sorted { $0.key < $1.key })"))
        }
    }

    /// Entries (and deletions) in the tables of keyspace `ks`.
    static func tableEntryCounts(_ db: DB, _ ks: Keyspace) throws -> (entries: UInt64, deletions: UInt64) {
        try CompactionFixtures.tableEntryCounts(db, keyspace: ks)
    }
}
