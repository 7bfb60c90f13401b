/// The user-facing iterator: walks user keys in ascending byte order as of
/// one sequence number, showing each key's newest visible value and hiding
/// deleted keys. Holds the memtables and version it reads, so files and
/// memory it uses stay alive until it goes away.
///
/// Not thread-safe: one thread uses an iterator at a time.
public final class DBIterator {
    private let merged: MergingIterator
    private let sequence: SequenceNumber
    /// Keeps the read view (memtables, version) alive.
    private let keepAlive: Any
    public private(set) var key: [UInt8] = []
    public private(set) var value: [UInt8] = []
    public private(set) var isValid = false

    init(children: [any InternalIterator], sequence: SequenceNumber, keepAlive: Any) {
        merged = MergingIterator(children)
        self.sequence = sequence
        self.keepAlive = keepAlive
    }

    public func seekToFirst() throws {
        try merged.seekToFirst()
        try findNextVisible(skipping: nil)
    }

    /// Positions at the first key >= `target`.
    public func seek(to target: [UInt8]) throws {
        let seekKey = InternalKey.make(target, sequence, InternalKey.typeForSeek)
        try seekKey.withUnsafeBytes { try merged.seek($0) }
        try findNextVisible(skipping: nil)
    }

    public func seek(to target: String) throws { try seek(to: Array(target.utf8)) }

    public func next() throws {
        precondition(isValid, "next() on an invalid DBIterator")
        let current = key
        try current.withUnsafeBytes { try findNextVisible(skipping: $0) }
    }

    /// Advances `merged` to the next entry visible at `sequence` whose user
    /// key differs from `skip` and is not deleted.
    private func findNextVisible(skipping skip: UnsafeRawBufferPointer?) throws {
        var hidden: [UInt8]? = nil
        isValid = false
        while merged.isValid {
            let ikey = merged.key
            guard ikey.count >= InternalKey.trailerSize else {
                throw DBError.corruption(path: "iterator", offset: 0, reason: "internal key shorter than its trailer")
            }
            let (entrySequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(ikey))
            let user = InternalKey.userKey(ikey)
            let skipThis = entrySequence > sequence
                || (skip.map { compareBytes(user, $0) == 0 } ?? false)
                || (hidden.map { h in h.withUnsafeBytes { compareBytes(user, $0) == 0 } } ?? false)
            if !skipThis {
                if type == ValueType.deletion.rawValue {
                    hidden = Array(user)
                } else {
                    key = Array(user)
                    value = Array(merged.value)
                    isValid = true
                    return
                }
            }
            try merged.next()
        }
    }
}
