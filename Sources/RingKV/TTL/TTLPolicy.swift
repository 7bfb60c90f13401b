import Glibc

/// The rules around a keyspace's ttl (docs/MERGE_TTL.md §TTL): its
/// conversion to nanoseconds, which option changes are allowed, and the
/// wall clock stamps and expiry read.
enum TTLPolicy {
    /// `d` in whole nanoseconds, clamped to 0...Int64.max (0: not a usable
    /// ttl; `KeyspaceOptions.validate` refuses it).
    static func nanos(_ d: Duration) -> UInt64 {
        let (seconds, attoseconds) = d.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        // Clamped before the nanoseconds are added: a sum that wrapped
        // would be a short ttl, expiring every value at once.
        if overflow || product > UInt64(Int64.max) { return UInt64(Int64.max) }
        return min(product + UInt64(attoseconds / 1_000_000_000), UInt64(Int64.max))
    }

    /// Refuses options that would add a ttl to a keyspace whose values
    /// carry no write time, or remove it from one whose values do: the
    /// stored values would be read wrongly. Another positive ttl is fine.
    static func checkChange(from stored: KeyspaceOptions, to requested: KeyspaceOptions,
                            keyspace: String) throws(DBError) {
        switch (stored.ttl, requested.ttl) {
        case (nil, .some(let ttl)):
            throw DBError.invalidOption(name: "KeyspaceOptions.ttl", value: "\(ttl)",
                                        allowed: "nil for keyspace \"\(keyspace)\", created without a ttl (its "
                                            + "values carry no write time; copy them into a new keyspace)")
        case (.some(let ttl), nil):
            throw DBError.invalidOption(name: "KeyspaceOptions.ttl", value: "nil",
                                        allowed: "a ttl for keyspace \"\(keyspace)\", created with one (now \(ttl)): "
                                            + "a TTL keyspace keeps a ttl")
        default:
            return
        }
    }

    /// Ingest and `TableFileWriter` for a TTL keyspace are refused: a
    /// table written outside the engine would need every value stamped,
    /// and an ingested table's values would all carry one write time.
    static func refuseTables(for ttl: Bool, keyspace: String) throws(DBError) {
        guard ttl else { return }
        throw DBError.invalidArgument("keyspace \"\(keyspace)\" has a ttl: TTL keyspaces take no ingested tables "
                                      + "(TableFileWriter and ingest are refused; write with put or WriteBatch)")
    }

    /// The refusal of a merge into a TTL keyspace (an operand carries no
    /// write time of its own; docs/MERGE_TTL.md §TTL).
    static func mergeRefusal(keyspace: String) -> DBError {
        DBError.invalidArgument("merge into keyspace \"\(keyspace)\", which has a ttl: TTL keyspaces take no merges")
    }

    /// The system wall clock: nanoseconds since the Unix epoch.
    static func systemNowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        guard ts.tv_sec >= 0 else { return 0 }
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

extension Options {
    /// Now, by the clock TTL uses (`ttlClock`, else the system's).
    func ttlNowNanos() -> UInt64 { ttlClock?() ?? TTLPolicy.systemNowNanos() }

    /// The expiry of a keyspace with these (applied) options as of now;
    /// nil when it has no ttl.
    func ttlExpiryNow(keyspace: String) -> TTLExpiry? {
        guard let ttlNanos else { return nil }
        return TTLExpiry(ttlNanos: ttlNanos, nowNanos: ttlNowNanos(), keyspace: keyspace)
    }
}
