/// `compactRange(from:to:)` and `approximateSize(from:to:)` of one keyspace,
/// as on `DB` (docs/KEYSPACES.md §Range maintenance); they act on this
/// keyspace's memtable and levels only.
extension Keyspace {
    /// Compacts this keyspace's keys in [from, to) into one level (see
    /// `DB.compactRange(from:to:)`).
    public func compactRange(from: [UInt8]?, to: [UInt8]?) throws(DBError) {
        try impl.compactRange(data, from: from, to: to)
    }

    /// `compactRange(from:to:)` with bounds of any `KeyValueBytes` type.
    public func compactRange<Key: KeyValueBytes>(from: Key?, to: Key?) throws(DBError) {
        try compactRange(from: from.map { $0.withKeyValueBytes { Array($0) } }, to: to.map { $0.withKeyValueBytes { Array($0) } })
    }

    /// `compactRange(from:to:)` on a thread of its own.
    public func compactRange(from: [UInt8]?, to: [UInt8]?) async throws {
        let impl = self.impl, data = self.data
        try await ThreadOffload.run { try impl.compactRange(data, from: from, to: to) }
    }

    /// Bytes of this keyspace's table files holding [from, to), memtables
    /// not counted (see `DB.approximateSize(from:to:)`).
    public func approximateSize(from: [UInt8]?, to: [UInt8]?) throws(DBError) -> Int {
        try impl.reading { () throws(DBError) in try impl.approximateSize(data, from: from, to: to) }
    }

    /// `approximateSize(from:to:)` with bounds of any `KeyValueBytes` type.
    public func approximateSize<Key: KeyValueBytes>(from: Key?, to: Key?) throws(DBError) -> Int {
        try approximateSize(from: from.map { $0.withKeyValueBytes { Array($0) } }, to: to.map { $0.withKeyValueBytes { Array($0) } })
    }
}
