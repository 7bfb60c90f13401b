import RingKV

/// Where kvbench's operations go: with `--keyspaces 1` the database's own
/// methods (its "default" keyspace, as before keyspaces existed); with N > 1
/// the keyspaces "kvbench0" … "kvbench{N-1}", record i going to keyspace
/// i % N. A multiGet is split into one multiGet per keyspace its keys fall
/// in; a scan walks the keyspace of its start key.
public struct BenchTargets: Sendable {
    let db: DB
    /// Empty for one keyspace (the DB's own methods).
    let keyspaces: [Keyspace]

    /// Name of keyspace `index` of `--keyspaces N` (N > 1).
    public static func name(_ index: Int) -> String { "kvbench\(index)" }

    /// Opens (creating when missing) the `count` keyspaces.
    public init(db: DB, count: Int) throws {
        self.db = db
        keyspaces = count > 1 ? try (0..<count).map { try db.keyspace(Self.name($0)) } : []
    }

    /// The keyspace of `record`.
    @inline(__always)
    func keyspace(_ record: Int64) -> Keyspace? {
        keyspaces.isEmpty ? nil : keyspaces[Int(record % Int64(keyspaces.count))]
    }

    func put(_ record: Int64, _ key: [UInt8], _ value: [UInt8], options: WriteOptions) throws {
        if let ks = keyspace(record) { try ks.put(key, value, options: options) } else {
            try db.put(key, value, options: options)
        }
    }

    func get(_ record: Int64, _ key: [UInt8]) throws -> [UInt8]? {
        if let ks = keyspace(record) { return try ks.get(key) }
        return try db.get(key)
    }

    /// How many of `keys` (of `records`) are present.
    func multiGetFound(_ records: [Int64], _ keys: [[UInt8]]) throws -> UInt64 {
        if keyspaces.isEmpty { return UInt64(try db.multiGet(keys).count { $0 != nil }) }
        var found: UInt64 = 0
        var groups = [[[UInt8]]](repeating: [], count: keyspaces.count)
        for (record, key) in zip(records, keys) { groups[Int(record % Int64(keyspaces.count))].append(key) }
        for (index, group) in groups.enumerated() where !group.isEmpty {
            found += UInt64(try keyspaces[index].multiGet(group).count { $0 != nil })
        }
        return found
    }

    func makeIterator(_ record: Int64, options: ReadOptions) throws -> DBIterator {
        if let ks = keyspace(record) { return try ks.makeIterator(options: options) }
        return try db.makeIterator(options: options)
    }
}
