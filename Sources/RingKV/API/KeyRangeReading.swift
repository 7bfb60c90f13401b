/// What DB (its "default" keyspace) and Keyspace share for reading key
/// ranges, so the forms built on ranges are written once: prefix scans
/// here. A prefix becomes the range's bounds ([prefix,
/// ReadOptions.prefixEnd(prefix))), so no block outside it is read, and
/// tables whose prefix filter rules the prefix out are not read at all
/// (docs/KEYSPACES.md §Prefixes).
public protocol KeyRangeReading {
    /// Up to `limit` pairs in [from, to) in ascending key order (`reverse`:
    /// descending); `to` nil: no upper bound.
    func scan(from: [UInt8], to: [UInt8]?, limit: Int, reverse: Bool,
              options: ReadOptions) throws(DBError) -> [(key: [UInt8], value: [UInt8])]

    /// The async form of `scan`: pairs in [from, to) as an AsyncSequence.
    func entries(from: [UInt8], to: [UInt8]?, reverse: Bool, limit: Int, options: ReadOptions) -> DBEntries
}

extension DB: KeyRangeReading {}
extension Keyspace: KeyRangeReading {}

extension KeyRangeReading {
    /// Up to `limit` pairs whose key starts with `prefix`, in ascending key
    /// order (`reverse`: descending, the last `limit` keys). An empty prefix
    /// is every key. The prefix is intersected with `options`' bounds.
    public func scan(prefix: [UInt8], limit: Int = Int.max, reverse: Bool = false,
                     options: ReadOptions = ReadOptions()) throws(DBError) -> [(key: [UInt8], value: [UInt8])] {
        try scan(from: prefix, to: ReadOptions.prefixEnd(prefix), limit: limit, reverse: reverse, options: options)
    }

    /// `scan(prefix:)` with a prefix of any `KeyValueBytes` type.
    public func scan<Key: KeyValueBytes>(prefix: Key, limit: Int = Int.max, reverse: Bool = false,
                                         options: ReadOptions = ReadOptions()) throws(DBError)
        -> [(key: [UInt8], value: [UInt8])] {
        try scan(prefix: prefix.withKeyValueBytes { Array($0) }, limit: limit, reverse: reverse, options: options)
    }

    /// The async form: `entries(from:to:)` over the keys starting with
    /// `prefix`.
    public func entries(prefix: [UInt8], reverse: Bool = false, limit: Int = Int.max,
                        options: ReadOptions = ReadOptions()) -> DBEntries {
        entries(from: prefix, to: ReadOptions.prefixEnd(prefix), reverse: reverse, limit: limit, options: options)
    }
}
