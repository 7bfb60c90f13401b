/// Maintenance of a key range of the "default" keyspace: `compactRange(from:to:)`
/// and `approximateSize(from:to:)` (docs/KEYSPACES.md §Range maintenance).
/// Each call goes to `DBImpl`'s range compaction (RangeCompaction.swift).
extension DB {
    /// Compacts the keys in [from, to) (nil: open on that side) level by
    /// level down into one level, as LevelDB's and RocksDB's CompactRange:
    /// flushes the memtable first if it holds anything of the range; only
    /// tables overlapping the range (and the next-level tables those
    /// overlap) are rewritten. Automatic compactions wait meanwhile. Both
    /// nil: `compactRange()`. `from > to` throws `DBError.invalidRange`.
    public func compactRange(from: [UInt8]?, to: [UInt8]?) throws(DBError) {
        try impl.compactRange(impl.defaultKeyspace, from: from, to: to)
    }

    /// `compactRange(from:to:)` with bounds of any `KeyValueBytes` type.
    public func compactRange<Key: KeyValueBytes>(from: Key?, to: Key?) throws(DBError) {
        try compactRange(from: from.map { $0.withKeyValueBytes { Array($0) } }, to: to.map { $0.withKeyValueBytes { Array($0) } })
    }

    /// `compactRange(from:to:)` on a thread of its own.
    public func compactRange(from: [UInt8]?, to: [UInt8]?) async throws {
        let impl = self.impl
        try await ThreadOffload.run { try impl.compactRange(impl.defaultKeyspace, from: from, to: to) }
    }

    /// Bytes on disk the keys in [from, to) take (nil: open on that side):
    /// the table files wholly inside the range, plus for each table the
    /// range cuts the bytes between the data blocks where `from` and `to`
    /// would be, found in its index. The memtables are not counted, so
    /// unflushed writes add nothing. `from > to` throws
    /// `DBError.invalidRange`.
    public func approximateSize(from: [UInt8]?, to: [UInt8]?) throws(DBError) -> Int {
        try impl.reading { () throws(DBError) in try impl.approximateSize(impl.defaultKeyspace, from: from, to: to) }
    }

    /// `approximateSize(from:to:)` with bounds of any `KeyValueBytes` type.
    public func approximateSize<Key: KeyValueBytes>(from: Key?, to: Key?) throws(DBError) -> Int {
        try approximateSize(from: from.map { $0.withKeyValueBytes { Array($0) } }, to: to.map { $0.withKeyValueBytes { Array($0) } })
    }
}
