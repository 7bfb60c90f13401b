/// The user-facing iterator: walks user keys in ascending byte order as of
/// one sequence number, showing each key's newest visible value and hiding
/// deleted keys. Holds the memtables and version it reads, so files and
/// memory it uses stay alive until it goes away.
///
/// Stepping allocates nothing: the current user key is copied into a
/// buffer the iterator reuses, and the value is read where it lies. `key`
/// and `value` build arrays when asked (once per position); `withKey` and
/// `withValue` lend the bytes instead.
///
/// Not thread-safe: one thread uses an iterator at a time.
public final class DBIterator {
    private let merged: MergingIterator
    private let sequence: SequenceNumber
    /// Every range tombstone visible at `sequence` (memtables and tables).
    private let rangeTombstones: RangeTombstoneIndex
    /// `!rangeTombstones.isEmpty`, so a step without tombstones pays one
    /// branch and never touches the index (docs/ARCHITECTURE.md §Range
    /// deletion, "Cost when unused").
    private let hasRangeTombstones: Bool
    /// Keeps the read view (memtables, version) alive.
    private let keepAlive: Any
    /// The current user key (valid when `isValid`), or while stepping the
    /// last key decided (returned or found deleted), whose older versions
    /// are skipped.
    // Exclusivity checks are off for the fields a step touches (the
    // profile of workload E showed swift_beginAccess): an iterator is used
    // by one thread at a time and no method re-enters another.
    @exclusivity(unchecked) private var keyBuffer: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var keyCapacity = 64
    @exclusivity(unchecked) private var keyCount = 0
    /// `key` and `value` as built for the current position.
    @exclusivity(unchecked) private var keyArray: [UInt8]?
    @exclusivity(unchecked) private var valueArray: [UInt8]?
    @exclusivity(unchecked) public private(set) var isValid = false

    init(children: [any InternalIterator], sequence: SequenceNumber, keepAlive: Any,
         rangeTombstones: RangeTombstoneIndex = .empty) {
        merged = MergingIterator(children)
        self.sequence = sequence
        self.rangeTombstones = rangeTombstones
        hasRangeTombstones = !rangeTombstones.isEmpty
        self.keepAlive = keepAlive
        keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: keyCapacity, alignment: 8)
    }

    deinit { keyBuffer.deallocate() }

    /// The current key (a fresh array, built once per position); empty when
    /// not valid.
    public var key: [UInt8] {
        guard isValid else { return [] }
        if let keyArray { return keyArray }
        let built = Array(currentKey)
        keyArray = built
        return built
    }

    /// The current value (a fresh array, built once per position); empty
    /// when not valid.
    public var value: [UInt8] {
        guard isValid else { return [] }
        if let valueArray { return valueArray }
        let built = Array(merged.value)
        valueArray = built
        return built
    }

    /// Zero-copy: lends the current key to `body`. The bytes are valid only
    /// inside `body` (the next move reuses them). Requires `isValid`.
    public func withKey<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(isValid, "withKey on an invalid DBIterator")
        return try body(currentKey)
    }

    /// Zero-copy: lends the current value to `body` where it lies (a block
    /// or the memtable). Valid only inside `body`. Requires `isValid`.
    public func withValue<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(isValid, "withValue on an invalid DBIterator")
        return try withExtendedLifetime(self) { try body(merged.value) }
    }

    public func seekToFirst() throws {
        try merged.seekToFirst()
        try findNextVisible(skippingCurrent: false)
    }

    /// Positions at the first key >= `target`.
    public func seek(to target: [UInt8]) throws {
        try target.withUnsafeBytes { target in
            try TableReader.withLookupKey(target, sequence) { try merged.seek($0) }
        }
        try findNextVisible(skippingCurrent: false)
    }

    public func seek(to target: String) throws { try seek(to: Array(target.utf8)) }

    public func next() throws {
        precondition(isValid, "next() on an invalid DBIterator")
        try findNextVisible(skippingCurrent: true)
    }

    // MARK: - Stepping

    private var currentKey: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: keyBuffer, count: keyCount) }

    /// Advances `merged` to the next entry visible at `sequence` that is
    /// not deleted and whose user key differs from the last decided one
    /// (`skippingCurrent`: the key in `keyBuffer`).
    private func findNextVisible(skippingCurrent: Bool) throws {
        var hasDecided = skippingCurrent
        isValid = false
        keyArray = nil
        valueArray = nil
        while merged.isValid {
            let ikey = merged.key
            guard ikey.count >= InternalKey.trailerSize else {
                throw DBError.corruption(path: "iterator", offset: 0, reason: "internal key shorter than its trailer")
            }
            let (entrySequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(ikey))
            let user = InternalKey.userKey(ikey)
            if entrySequence <= sequence && !(hasDecided && compareBytes(user, currentKey) == 0) {
                // The newest visible version of a new user key decides it.
                setKey(user)
                hasDecided = true
                if isLive(user, sequence: entrySequence, type: type) {
                    isValid = true
                    return
                }
            }
            try merged.next()
        }
    }

    /// Whether the newest visible entry of `user` shows the key: not a
    /// deletion, and not older than a visible range tombstone covering it.
    /// Direction-free, so a backward step can decide keys the same way.
    @inline(__always)
    private func isLive(_ user: UnsafeRawBufferPointer, sequence entrySequence: SequenceNumber, type: UInt8) -> Bool {
        type != ValueType.deletion.rawValue
            && !(hasRangeTombstones && rangeTombstones.hides(user, sequence: entrySequence, snapshot: sequence))
    }

    private func setKey(_ user: UnsafeRawBufferPointer) {
        if user.count > keyCapacity {
            keyBuffer.deallocate()
            keyCapacity = max(user.count, keyCapacity * 2)
            keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: keyCapacity, alignment: 8)
        }
        if let base = user.baseAddress, user.count > 0 { keyBuffer.copyMemory(from: base, byteCount: user.count) }
        keyCount = user.count
    }
}
