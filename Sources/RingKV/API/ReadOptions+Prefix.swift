/// Bounds for the keys that start with one prefix: [prefix, prefixEnd).
/// `DB.scan(prefix:)`, `Keyspace.scan(prefix:)`, `entries(prefix:)` and
/// kvctl's `--prefix` use them; a bounded iterator whose bounds lie within
/// one prefix also lets the read skip tables by their prefix filter
/// (docs/KEYSPACES.md §Prefixes).
extension ReadOptions {
    /// Options whose bounds hold exactly the keys starting with `prefix`:
    /// `lowerBound = prefix`, `upperBound = prefixEnd(prefix)` (nil when
    /// the prefix is empty or all 0xFF: no upper bound).
    public init(prefix: [UInt8], snapshot: Snapshot? = nil, fillCache: Bool = true, asyncPrefetch: Bool = true) {
        self.init(snapshot: snapshot, fillCache: fillCache, asyncPrefetch: asyncPrefetch,
                  lowerBound: prefix, upperBound: ReadOptions.prefixEnd(prefix))
    }

    /// The smallest key after every key starting with `prefix`: the prefix
    /// with its last byte other than 0xFF incremented and the bytes after it
    /// dropped. nil when there is none (the prefix is empty or all 0xFF).
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8]? {
        guard let last = prefix.lastIndex(where: { $0 != 0xff }) else { return nil }
        var end = Array(prefix[...last])
        end[last] += 1
        return end
    }
}
