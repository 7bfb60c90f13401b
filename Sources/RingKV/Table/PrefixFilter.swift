/// A table's prefix bloom filter (docs/FORMAT.md §Prefix filter block):
/// a bloom filter over the first `length` bytes of each user key, written
/// for keyspaces with `KeyspaceOptions.prefixLength`.
///
/// Data flow: `PrefixFilterBuilder` sees every user key the `TableBuilder`
/// adds, adds each distinct prefix once (keys shorter than `length` are
/// not added: no key a prefix read of at least `length` bytes may yield
/// is that short) and is encoded as its own meta block whose handle and
/// `length` the properties carry. `TableReader` decodes it at open, and an
/// iterator whose bounds lie within one prefix (`IterationBounds.
/// filterPrefix`) asks it before reading any data block of the table.
package struct PrefixFilter: Sendable {
    /// Bytes of each key the filter covers.
    let length: Int
    let bloom: BloomFilter

    /// False only when no key of the table starts with `prefix`, which
    /// must be exactly `length` bytes (another length: true, as if there
    /// were no filter).
    func mayContain(prefix: [UInt8]) -> Bool {
        guard prefix.count == length else { return true }
        return prefix.withUnsafeBytes { bloom.mayContain($0) }
    }
}

/// Collects the distinct `length`-byte prefixes of a table's user keys
/// (added in key order, so equal prefixes are consecutive).
struct PrefixFilterBuilder {
    let length: Int
    private var bloom: BloomFilterBuilder
    private var lastPrefix: [UInt8] = []
    private var hasPrefix = false

    init(length: Int, bitsPerKey: Int) {
        self.length = length
        bloom = BloomFilterBuilder(bitsPerKey: bitsPerKey)
    }

    mutating func add(userKey: UnsafeRawBufferPointer) {
        guard userKey.count >= length else { return }
        let prefix = UnsafeRawBufferPointer(rebasing: userKey[..<length])
        if hasPrefix, lastPrefix.withUnsafeBytes({ compareBytes($0, prefix) == 0 }) { return }
        lastPrefix.removeAll(keepingCapacity: true)
        lastPrefix.append(contentsOf: prefix)
        hasPrefix = true
        bloom.add(prefix)
    }

    /// The block contents: the bloom filter in the filter block's encoding.
    func finish() -> [UInt8] { bloom.finish() }
}

extension TableReader {
    /// The prefix filter block a table's properties name (one more read at
    /// open, only for such tables). A damaged block or handle is corruption.
    static func readPrefixFilter(io: TableFileIO, properties: TableProperties,
                                 limit: UInt64) throws(DBError) -> PrefixFilter? {
        guard let handle = properties.prefixFilterHandle else { return nil }
        let path = io.path
        try io.check(handle, within: limit, what: "prefix filter block")
        var bloom: BloomFilter?
        try io.readStored([handle]) { (_, stored) throws(DBError) in
            try BlockCodec.withDecodedContents(stored, path: path, offset: handle.offset) { (raw) throws(DBError) in
                do throws(DecodeError) { bloom = try BloomFilter(decoding: raw) } catch {
                    throw DBError.corruption(path: path, offset: handle.offset,
                                             reason: "prefix filter block: \(error.reason)")
                }
            }
        }
        guard let bloom else { return nil }
        return PrefixFilter(length: properties.prefixLength, bloom: bloom)
    }
}
