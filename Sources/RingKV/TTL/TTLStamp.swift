/// The write time a value of a TTL keyspace carries (docs/FORMAT.md §TTL
/// write times, docs/MERGE_TTL.md §TTL): the user's bytes followed by 8
/// bytes, the wall-clock nanoseconds since the Unix epoch at the write,
/// little endian.
///
///     stored value = user value ++ fixed64 writeTimeNanos
///
/// How data flows: the write path appends the stamp once, before the WAL
/// (`DBImpl.stampedForTTL`), so the WAL, replay, flush, compaction,
/// checkpoints, backups and the change feed carry the original time;
/// every read of the keyspace strips it and hides an expired value
/// (`TTLExpiry`). The layout does not depend on the ttl, so a keyspace's
/// ttl may change between opens.
enum TTLStamp {
    static let sizeBytes = 8

    /// The stamp bytes of `nanos`.
    static func bytes(_ nanos: UInt64) -> [UInt8] {
        withUnsafeBytes(of: nanos.littleEndian) { Array($0) }
    }

    /// `value` with the stamp of `nanos` appended.
    static func stamped(_ value: UnsafeRawBufferPointer, nanos: UInt64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(value.count + sizeBytes)
        out.append(contentsOf: value)
        withUnsafeBytes(of: nanos.littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The user's bytes and the write time of a stored value; nil when it
    /// is shorter than a stamp (damaged, or not written into a TTL keyspace).
    static func split(_ stored: UnsafeRawBufferPointer) -> (value: UnsafeRawBufferPointer, nanos: UInt64)? {
        guard stored.count >= sizeBytes else { return nil }
        let at = stored.count - sizeBytes
        let nanos = UInt64(littleEndian: stored.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        return (UnsafeRawBufferPointer(rebasing: stored[0..<at]), nanos)
    }

    /// The error for a stored value too short to carry a stamp.
    static func shortValue(_ count: Int, keyspace: String) -> DBError {
        DBError.corruption(path: "keyspace \"\(keyspace)\"", offset: 0,
                           reason: "a value of \(count) bytes in a TTL keyspace, shorter than its 8-byte write time")
    }
}

/// Which stored values are expired, as of one reading of the clock: a
/// value is expired when it is older than the ttl, i.e. its write time is
/// before `now − ttl` (a value exactly ttl old is still returned, as
/// RocksDB's DBWithTTL). Once expired a value stays expired while the
/// wall clock does not go back, so every reader — at any snapshot —
/// treats it as absent, and compaction may turn it into a deletion.
struct TTLExpiry: Sendable {
    /// Values written before this are expired (0: none is).
    let cutoffNanos: UInt64
    /// The keyspace's name, for errors.
    let keyspace: String

    init(ttlNanos: UInt64, nowNanos: UInt64, keyspace: String) {
        cutoffNanos = nowNanos > ttlNanos ? nowNanos - ttlNanos : 0
        self.keyspace = keyspace
    }

    /// The user's bytes of a live stored value; nil when it is expired.
    /// Throws for a value shorter than its stamp.
    @inline(__always)
    func live(_ stored: UnsafeRawBufferPointer) throws(DBError) -> UnsafeRawBufferPointer? {
        guard let (value, nanos) = TTLStamp.split(stored) else {
            throw TTLStamp.shortValue(stored.count, keyspace: keyspace)
        }
        return nanos < cutoffNanos ? nil : value
    }

    /// `live` of an array: a copy of the user's bytes, or nil.
    func live(_ stored: [UInt8]?) throws(DBError) -> [UInt8]? {
        guard let stored else { return nil }
        return try stored.withBytes { (raw) throws(DBError) in try live(raw).map { Array($0) } }
    }

    func isExpired(_ stored: UnsafeRawBufferPointer) throws(DBError) -> Bool {
        try live(stored) == nil
    }
}
