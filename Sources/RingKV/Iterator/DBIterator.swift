/// The user-facing iterator: walks user keys in byte order — ascending
/// with `next`, descending with `prev`, in any mix — as of one sequence
/// number, showing each key's newest visible value and hiding deleted
/// keys. Holds the memtables and version it reads, so files and memory it
/// uses stay alive until it goes away.
///
/// Bounds (`ReadOptions.lowerBound` inclusive, `upperBound` exclusive):
/// the iterator never yields a key outside them; `seekToFirst` and
/// `seekToLast` start at them, `seek(to:)` below the lower bound clamps up
/// to it, `seek(forPrev:)` at or above the upper bound clamps below it;
/// and no data block or table wholly outside them is read.
///
/// Direction: a step in the direction of the previous one costs one step
/// of one source; changing direction (`prev` after `next` or a forward
/// seek, and the reverse) re-seeks every source (memtables, each L0
/// table, each level) at the current key, like one `seek`.
///
/// Stepping allocates nothing: the current user key is copied into a
/// buffer the iterator reuses; moving forward the value is read where it
/// lies, moving backward (where the sources move past the current key's
/// entries to find it) it is copied into a reused buffer too. `key` and
/// `value` build arrays when asked (once per position); `withKey` and
/// `withValue` lend the bytes instead.
///
/// Not thread-safe: one thread uses an iterator at a time.
public final class DBIterator {
    private let merged: MergingIterator
    private let sequence: SequenceNumber
    private let bounds: IterationBounds
    /// Every range tombstone visible at `sequence` (memtables and tables).
    private let rangeTombstones: RangeTombstoneIndex
    /// `!rangeTombstones.isEmpty`, so a step without tombstones pays one
    /// branch and never touches the index (docs/ARCHITECTURE.md §Range
    /// deletion, "Cost when unused").
    private let hasRangeTombstones: Bool
    /// Keeps the read view (memtables, version) alive.
    private let keepAlive: Any
    /// Folds a key's merge operands (nil: a stored operand makes the step
    /// throw `DBError.mergeOperatorMissing`).
    private let mergeOperator: (any MergeOperator)?
    /// Called by every positioning (seek*): counts the seek against the
    /// L0 tables it had to search (`DBImpl.chargeSeek`); nil when there is
    /// nothing to charge.
    private let seekCharge: (() -> Void)?
    /// A TTL keyspace's expiry as of the iterator's view (TTL/): an
    /// expired newest value makes its key absent; `stampBytes` (8, else 0)
    /// is cut off every value shown.
    private let ttl: TTLExpiry?
    private let stampBytes: Int
    /// Forward: `merged` stands on the current key's newest visible entry.
    /// Backward: `merged` stands on the entry before all of the current
    /// key's entries (or is invalid), and the value is in `valueBuffer`.
    // Exclusivity checks are off for the fields a step touches (the
    // profile of workload E showed swift_beginAccess): an iterator is used
    // by one thread at a time and no method re-enters another.
    @exclusivity(unchecked) private var reverse = false
    /// The current user key (valid when `isValid`), or while stepping the
    /// last key decided, whose other versions are skipped.
    @exclusivity(unchecked) private var keyBuffer: ByteBuffer
    /// The current value while moving backward, or a merged value.
    @exclusivity(unchecked) private var valueBuffer: ByteBuffer
    /// The current value is in `valueBuffer` although moving forward (a
    /// merged value: `merged` stands past the operands it folded).
    @exclusivity(unchecked) private var valueInBuffer = false
    /// Merge operands of the key being decided (reused between keys).
    @exclusivity(unchecked) private var operands: [[UInt8]] = []
    /// `key` and `value` as built for the current position.
    @exclusivity(unchecked) private var keyArray: [UInt8]?
    @exclusivity(unchecked) private var valueArray: [UInt8]?
    /// Whether the iterator stands on a key (false before the first
    /// positioning and after moving off either end).
    @exclusivity(unchecked) public private(set) var isValid = false

    init(children: [any InternalIterator], sequence: SequenceNumber, bounds: IterationBounds = .unbounded,
         keepAlive: Any, rangeTombstones: RangeTombstoneIndex = .empty, seekCharge: (() -> Void)? = nil,
         mergeOperator: (any MergeOperator)? = nil, ttl: TTLExpiry? = nil) {
        self.seekCharge = seekCharge
        self.ttl = ttl
        stampBytes = ttl == nil ? 0 : TTLStamp.sizeBytes
        self.mergeOperator = mergeOperator
        self.rangeTombstones = rangeTombstones
        hasRangeTombstones = !rangeTombstones.isEmpty
        merged = MergingIterator(children)
        self.sequence = sequence
        self.bounds = bounds
        self.keepAlive = keepAlive
        keyBuffer = ByteBuffer(capacity: 64)
        valueBuffer = ByteBuffer(capacity: 0)
    }

    deinit {
        keyBuffer.deallocate()
        valueBuffer.deallocate()
    }

    /// The current key (a fresh array, built once per position); empty when
    /// not valid.
    public var key: [UInt8] {
        guard isValid else { return [] }
        if let keyArray { return keyArray }
        let built = Array(keyBuffer.bytes)
        keyArray = built
        return built
    }

    /// The current value (a fresh array, built once per position); empty
    /// when not valid.
    public var value: [UInt8] {
        guard isValid else { return [] }
        if let valueArray { return valueArray }
        let built = Array(currentValue)
        valueArray = built
        return built
    }

    /// Zero-copy: lends the current key to `body`. The bytes are valid only
    /// inside `body` (the next move reuses them). When not `isValid`,
    /// `body` gets an empty buffer, as `key` is then empty.
    // Not `throws` with `DBError.misuse` as `next()`: it would make every
    // caller write `try` where the body throws nothing. It trapped once.
    public func withKey<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard isValid else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(keyBuffer.bytes)
    }

    /// Zero-copy: lends the current value to `body` where it lies (a block,
    /// the memtable, or the iterator's own buffer after a backward move).
    /// Valid only inside `body`. When not `isValid`, `body` gets an empty
    /// buffer, as `value` is then empty (see `withKey`).
    public func withValue<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard isValid else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try withExtendedLifetime(self) { try body(currentValue) }
    }

    // MARK: - Positioning

    /// Positions at the first key (the lower bound, when set).
    public func seekToFirst() throws(DBError) {
        if let lower = bounds.lower { return try seek(to: lower) }
        seekCharge?()
        reverse = false
        try merged.seekToFirst()
        try findNextVisible(skippingCurrent: false)
    }

    /// Positions at the first key >= `target` (clamped up to the lower
    /// bound).
    public func seek(to target: [UInt8]) throws(DBError) {
        var start = target
        if let lower = bounds.lower, compareBytes(target, lower) < 0 { start = lower }
        seekCharge?()
        reverse = false
        let trailer = InternalKey.packTrailer(min(sequence, InternalKey.maxSequenceNumber), InternalKey.typeForSeek)
        try start.withBytes { (start) throws(DBError) in
            try InternalKey.withEncoded(start, trailer: trailer) { (key) throws(DBError) in try merged.seek(key) }
        }
        try findNextVisible(skippingCurrent: false)
    }

    /// `seek(to:)` with the UTF-8 bytes of `target`.
    public func seek(to target: String) throws(DBError) { try seek(to: Array(target.utf8)) }

    /// Positions at the last key (the last below the upper bound, when set).
    public func seekToLast() throws(DBError) {
        seekCharge?()
        reverse = true
        if let upper = bounds.upper {
            try upper.withBytes { (upper) throws(DBError) in
                try InternalKey.withEncoded(upper, trailer: InternalKey.firstTrailer) { (key) throws(DBError) in
                    try merged.seekForPrev(key)
                }
            }
        } else {
            try merged.seekToLast()
        }
        try findPrevVisible()
    }

    /// Positions at the last key <= `target` (at or above the upper bound:
    /// the last key below it).
    public func seek(forPrev target: [UInt8]) throws(DBError) {
        if target.withUnsafeBytes({ bounds.isAtOrPastUpper($0) }) { return try seekToLast() }
        seekCharge?()
        reverse = true
        try target.withBytes { (target) throws(DBError) in
            try InternalKey.withEncoded(target, trailer: InternalKey.lastTrailer) { (key) throws(DBError) in
                try merged.seekForPrev(key)
            }
        }
        try findPrevVisible()
    }

    /// `seek(forPrev:)` with the UTF-8 bytes of `target`.
    public func seek(forPrev target: String) throws(DBError) { try seek(forPrev: Array(target.utf8)) }

    /// Moves to the next key. Not `isValid` (never positioned, or past
    /// an end): `DBError.misuse`, nothing moves.
    public func next() throws(DBError) {
        guard isValid else { throw DBIterator.notPositioned("next()") }
        if reverse {
            // The sources stand before the current key: re-seek them at
            // its first entry; the skip below passes over its versions.
            reverse = false
            try InternalKey.withEncoded(keyBuffer.bytes, trailer: InternalKey.firstTrailer) { (key) throws(DBError) in
                try merged.seek(key)
            }
        }
        try findNextVisible(skippingCurrent: true)
    }

    /// Moves to the previous key. Not `isValid`: `DBError.misuse`, as
    /// `next()`.
    public func prev() throws(DBError) {
        guard isValid else { throw DBIterator.notPositioned("prev()") }
        if !reverse {
            // The sources stand on the current key: re-seek them at the
            // last entry before its first one.
            reverse = true
            try InternalKey.withEncoded(keyBuffer.bytes, trailer: InternalKey.firstTrailer) { (key) throws(DBError) in
                try merged.seekForPrev(key)
            }
        }
        try findPrevVisible()
    }

    /// A step of an iterator that stands on no key: a caller's mistake,
    /// reported (it trapped once).
    private static func notPositioned(_ step: String) -> DBError {
        .misuse("\(step) on an invalid DBIterator: position it with a seek first, and stop when isValid is false")
    }

    // MARK: - Stepping

    private var currentValue: UnsafeRawBufferPointer {
        if reverse || valueInBuffer { return valueBuffer.bytes }
        let value = merged.value
        return stampBytes == 0 ? value : UnsafeRawBufferPointer(rebasing: value[0..<(value.count - stampBytes)])
    }

    /// Whether the entry `merged` stands on is a value of a TTL keyspace
    /// that has expired (then its key reads as absent). Throws for a value
    /// shorter than its write time.
    @inline(__always)
    private func isExpired(_ entry: (user: UnsafeRawBufferPointer, sequence: SequenceNumber, type: UInt8))
        throws(DBError) -> Bool {
        guard let ttl, entry.type == ValueType.value.rawValue else { return false }
        return try ttl.isExpired(merged.value)
    }

    /// The current entry of `merged`, checked to carry a trailer.
    @inline(__always)
    private func currentEntry() throws(DBError) -> (user: UnsafeRawBufferPointer, sequence: SequenceNumber, type: UInt8) {
        let ikey = merged.key
        guard ikey.count >= InternalKey.trailerSize else {
            throw DBError.corruption(path: "iterator", offset: 0, reason: "internal key shorter than its trailer")
        }
        let (entrySequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(ikey))
        return (InternalKey.userKey(ikey), entrySequence, type)
    }

    /// Whether a visible entry makes its key live: not a deletion, and not
    /// older than a visible range tombstone covering its key. The one place
    /// a key's newest visible entry is judged, in both directions.
    @inline(__always)
    private func isLive(_ entry: (user: UnsafeRawBufferPointer, sequence: SequenceNumber, type: UInt8)) -> Bool {
        entry.type != ValueType.deletion.rawValue
            && !(hasRangeTombstones && rangeTombstones.hides(entry.user, sequence: entry.sequence, snapshot: sequence))
    }

    /// Advances `merged` to the newest visible entry of the next user key
    /// that is live and below the upper bound. `skippingCurrent`: keys <=
    /// the one in `keyBuffer` are passed over.
    private func findNextVisible(skippingCurrent: Bool) throws(DBError) {
        var hasDecided = skippingCurrent
        clearPosition()
        while merged.isValid {
            let entry = try currentEntry()
            if bounds.isAtOrPastUpper(entry.user) { return }
            if entry.sequence <= sequence && !(hasDecided && compareBytes(entry.user, keyBuffer.bytes) <= 0) {
                // The newest visible version of a new user key decides it.
                keyBuffer.set(entry.user)
                hasDecided = true
                if isLive(entry), try !isExpired(entry) {
                    if entry.type == ValueType.merge.rawValue { try foldForward() }
                    isValid = true
                    return
                }
            }
            try merged.next()
        }
    }

    /// `merged` stands on the newest visible entry of the key in
    /// `keyBuffer`, a merge operand: collects it and the older operands
    /// down to the base (a value; a deletion or covering range tombstone
    /// or the key's end: none) and puts the merged value in `valueBuffer`.
    /// `merged` is left on the base or past the key.
    private func foldForward() throws(DBError) {
        operands.removeAll(keepingCapacity: true)
        operands.append(Array(merged.value))
        var base: [UInt8]?
        try merged.next()
        while merged.isValid {
            let entry = try currentEntry()
            guard compareBytes(entry.user, keyBuffer.bytes) == 0 else { break }
            if entry.sequence <= sequence {
                if !isLive(entry) { break }
                if entry.type != ValueType.merge.rawValue {
                    base = Array(merged.value)
                    break
                }
                operands.append(Array(merged.value))
            }
            try merged.next()
        }
        operands.reverse()
        let value = try MergeResolution.fullMerge(mergeOperator, key: Array(keyBuffer.bytes), existing: base,
                                                  operandsOldestFirst: operands)
        operands.removeAll(keepingCapacity: true)
        value.withUnsafeBytes { valueBuffer.set($0) }
        valueInBuffer = true
    }

    /// Moves `merged` backward past every entry of the previous live user
    /// key at or above the lower bound, keeping that key and its newest
    /// visible value. Going backward a key's versions come oldest first:
    /// each visible one updates the key's state (a deletion or a hidden
    /// entry clears it, a value becomes the base, an operand is added),
    /// and the state when a smaller key appears decides it.
    private func findPrevVisible() throws(DBError) {
        clearPosition()
        var hasKey = false
        var hasBase = false
        operands.removeAll(keepingCapacity: true)
        while merged.isValid {
            let entry = try currentEntry()
            if bounds.isBeforeLower(entry.user) { break }
            if entry.sequence <= sequence && !bounds.isAtOrPastUpper(entry.user) {
                if !hasKey || compareBytes(entry.user, keyBuffer.bytes) != 0 {
                    if hasKey && (hasBase || !operands.isEmpty) { break }
                    keyBuffer.set(entry.user)
                    hasKey = true
                    hasBase = false
                    operands.removeAll(keepingCapacity: true)
                }
                let expired = try isExpired(entry)
                if expired || !isLive(entry) {
                    hasBase = false
                    operands.removeAll(keepingCapacity: true)
                } else if entry.type == ValueType.merge.rawValue {
                    operands.append(Array(merged.value))
                } else {
                    hasBase = true
                    let value = merged.value
                    valueBuffer.set(UnsafeRawBufferPointer(rebasing: value[0..<(value.count - stampBytes)]))
                    operands.removeAll(keepingCapacity: true)
                }
            }
            try merged.prev()
        }
        guard hasKey && (hasBase || !operands.isEmpty) else { return }
        if !operands.isEmpty {
            let value = try MergeResolution.fullMerge(mergeOperator, key: Array(keyBuffer.bytes),
                                                      existing: hasBase ? Array(valueBuffer.bytes) : nil,
                                                      operandsOldestFirst: operands)
            operands.removeAll(keepingCapacity: true)
            value.withUnsafeBytes { valueBuffer.set($0) }
        }
        isValid = true
    }

    private func clearPosition() {
        isValid = false
        valueInBuffer = false
        keyArray = nil
        valueArray = nil
    }
}
