/// Compaction in a TTL keyspace (docs/MERGE_TTL.md §TTL): `CompactionJob`
/// takes one `TTLExpiry` when it starts and writes every expired value it
/// reads as a deletion at the value's sequence. Every reader, at any
/// snapshot, already treats an expired value as "absent, and nothing older
/// shows through" — exactly what a deletion at that sequence means — so
/// no read changes; the usual rules (`CompactionEntryFilter`) then drop
/// the older versions it hides and, where no live snapshot and no deeper
/// level needs it, the deletion itself. The compaction filter sees a
/// TTL keyspace's values without their write time; a replacement keeps
/// the original write time.
extension TTLExpiry {
    /// What the compaction filter is shown of `stored`: the user's bytes
    /// (checked by `isExpired` before, so the stamp is there).
    static func userBytes(_ stored: UnsafeRawBufferPointer, _ expiry: TTLExpiry?) -> [UInt8] {
        guard expiry != nil, let (value, _) = TTLStamp.split(stored) else { return Array(stored) }
        return Array(value)
    }

    /// A compaction filter's `replacement` of `stored`, with `stored`'s
    /// write time in a TTL keyspace.
    static func restamped(_ replacement: [UInt8], like stored: UnsafeRawBufferPointer, _ expiry: TTLExpiry?) -> [UInt8] {
        guard expiry != nil, let (_, nanos) = TTLStamp.split(stored) else { return replacement }
        return replacement.withUnsafeBytes { TTLStamp.stamped($0, nanos: nanos) }
    }
}
