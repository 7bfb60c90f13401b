/// How the read paths of a TTL keyspace see values (docs/MERGE_TTL.md
/// §TTL): the view of each read carries a `TTLExpiry` taken when the view
/// is (`DBImpl.readView`); a key's newest visible value that is expired
/// reads as absent — no older version of the key shows through — and a
/// live one without its write time. Point reads wrap the caller's body
/// (`withLiveValue`); multiGet and the async reads filter their arrays
/// (`liveValues`); iterators judge each key's newest entry
/// (`DBIterator`, `ttl`).
extension DBImpl {
    /// What a wrapped point-read body saw.
    enum LiveRead<R> {
        case live(R)
        case expired
        case tooShort(Int)
    }

    /// Runs `read` with a body that strips the write time and calls
    /// `body` on a live value; an expired one reads as nil.
    func withLiveValue<R>(_ ttl: TTLExpiry, _ body: (UnsafeRawBufferPointer) -> R,
                          _ read: ((UnsafeRawBufferPointer) -> LiveRead<R>) throws(DBError) -> LiveRead<R>?)
        throws(DBError) -> R? {
        let answer = try withoutActuallyEscaping(body) { (body) throws(DBError) in
            try read { stored in
                guard let (value, nanos) = TTLStamp.split(stored) else { return .tooShort(stored.count) }
                return nanos < ttl.cutoffNanos ? .expired : .live(body(value))
            }
        }
        switch answer {
        case .none, .expired?: return nil
        case .live(let result)?: return result
        case .tooShort(let count)?: throw TTLStamp.shortValue(count, keyspace: ttl.keyspace)
        }
    }

    /// `values` of a read in `view` as the user sees them.
    func liveValues(_ values: [[UInt8]?], view: ReadView) throws(DBError) -> [[UInt8]?] {
        guard let ttl = view.ttl else { return values }
        var out: [[UInt8]?] = []
        out.reserveCapacity(values.count)
        for value in values { out.append(try ttl.live(value)) }
        return out
    }

    /// One value of a read in `view` as the user sees it.
    func liveValue(_ value: [UInt8]?, view: ReadView) throws(DBError) -> [UInt8]? {
        guard let ttl = view.ttl else { return value }
        return try ttl.live(value)
    }
}
