/// Options of one keyspace (`DB.keyspace(_:options:)`). Every field left
/// nil follows the database's `Options` (its value at each open); a field
/// set is stored with the keyspace (docs/FORMAT.md §Keyspace options) and
/// used on every later open that does not pass other options.
///
///     var ko = KeyspaceOptions()
///     ko.compression = false        // already-compressed values
///     let blobs = try db.keyspace("blobs", options: ko)
///
/// Table-level choices (block size, compression, bloom bits) apply to the
/// tables written from then on; each table records its own.
public struct KeyspaceOptions: Sendable, Equatable {
    /// This keyspace's memtable size (`Options.memtableSizeBytes`). The
    /// memtables of all keyspaces together are also bounded by
    /// `Options.totalMemtableSizeBytes`. 1 to 8 GiB − 4 bytes.
    public var memtableSizeBytes: Int?
    /// Uncompressed data block size (`Options.blockSizeBytes`).
    public var blockSizeBytes: Int?
    /// LZ4 per block (`Options.compression`).
    public var compression: Bool?
    /// Bloom filter bits per key (`Options.bloomBitsPerKey`; 0: none), at
    /// most 65536.
    public var bloomBitsPerKey: Int?
    /// Length of the key prefixes a prefix bloom filter covers (1 or
    /// more). Stored with the keyspace; the prefix filter itself is built
    /// by the table writer of issue 23's prefix part.
    public var prefixLength: Int?
    /// Time to live: a value older than this (by the wall clock at its
    /// write) is never returned by any read path, and compaction removes
    /// it (docs/MERGE_TTL.md §TTL). Each value of a TTL keyspace stores
    /// its write time (8 bytes); merges, ingest and TableFileWriter are
    /// refused in it. At least 1 ns. May change on a later open (another
    /// positive value) but cannot be added to or removed from an existing
    /// keyspace (`DBError.invalidOption`).
    public var ttl: Duration?

    /// Options that follow the database's everywhere but where set.
    public init(memtableSizeBytes: Int? = nil, blockSizeBytes: Int? = nil, compression: Bool? = nil,
                bloomBitsPerKey: Int? = nil, prefixLength: Int? = nil, ttl: Duration? = nil) {
        self.memtableSizeBytes = memtableSizeBytes
        self.blockSizeBytes = blockSizeBytes
        self.compression = compression
        self.bloomBitsPerKey = bloomBitsPerKey
        self.prefixLength = prefixLength
        self.ttl = ttl
    }
}

extension KeyspaceOptions {
    /// The largest `memtableSizeBytes` a keyspace stores (8 GiB − 4 bytes);
    /// `validate` and the stored blob's decoder both use it.
    static let maxMemtableSizeBytes = Int(Int32.max) * 4
    /// The largest `bloomBitsPerKey` a keyspace stores; `validate` and the
    /// stored blob's decoder both use it.
    static let maxBloomBitsPerKey = 1 << 16

    /// Refuses a value the engine cannot work with, naming the field. The
    /// bounds are the ones `KeyspaceOptionsEncoding.decode` accepts, so
    /// options that pass are stored and read back on every open.
    func validate() throws(DBError) {
        if let n = memtableSizeBytes, !(1...KeyspaceOptions.maxMemtableSizeBytes).contains(n) {
            throw DBError.invalidOption(name: "KeyspaceOptions.memtableSizeBytes", value: "\(n)",
                                        allowed: "between 1 and \(KeyspaceOptions.maxMemtableSizeBytes)")
        }
        if let n = blockSizeBytes, !(1...Options.maxBlockSizeBytes).contains(n) {
            throw DBError.invalidOption(name: "KeyspaceOptions.blockSizeBytes", value: "\(n)",
                                        allowed: "between 1 and \(Options.maxBlockSizeBytes)")
        }
        if let n = bloomBitsPerKey, !(0...KeyspaceOptions.maxBloomBitsPerKey).contains(n) {
            throw DBError.invalidOption(name: "KeyspaceOptions.bloomBitsPerKey", value: "\(n)",
                                        allowed: "0 (no filter) to \(KeyspaceOptions.maxBloomBitsPerKey)")
        }
        if let n = prefixLength, !(1...Options.maxKeySizeBytes).contains(n) {
            throw DBError.invalidOption(name: "KeyspaceOptions.prefixLength", value: "\(n)",
                                        allowed: "between 1 and \(Options.maxKeySizeBytes)")
        }
        if let ttl, TTLPolicy.nanos(ttl) == 0 {
            throw DBError.invalidOption(name: "KeyspaceOptions.ttl", value: "\(ttl)",
                                        allowed: "at least 1 nanosecond (nil: no TTL)")
        }
    }

    /// The database options with this keyspace's fields in place: what its
    /// memtables and tables are built with.
    func applied(to base: Options) -> Options {
        var options = base
        if let n = memtableSizeBytes { options.memtableSizeBytes = n }
        if let n = blockSizeBytes { options.blockSizeBytes = n }
        if let c = compression { options.compression = c }
        if let n = bloomBitsPerKey { options.bloomBitsPerKey = n }
        options.prefixFilterLength = prefixLength
        options.ttlNanos = ttl.map { TTLPolicy.nanos($0) }
        return options
    }
}
