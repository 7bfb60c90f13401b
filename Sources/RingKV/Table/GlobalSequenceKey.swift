/// The key an iterator over an ingested table yields (docs/INGEST.md): the
/// stored internal key with its sequence replaced by the table's global
/// sequence, the type kept. The stored keys all carry sequence 0, so the
/// order of the table is the same either way; only comparisons with keys
/// of other sources (merging, seeks, compaction) see the difference.
///
/// Data flows: after each move, `TableIterator` hands the stored key to
/// `load`, which copies it into memory owned here and rewrites the
/// trailer; `bytes` stays valid until the next `load`.
final class GlobalSequenceKey {
    let sequence: SequenceNumber
    /// Owned copy of the current key (`capacity` bytes allocated, `count`
    /// used); nil before the first load.
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var count = 0

    init(sequence: SequenceNumber) {
        self.sequence = sequence
    }

    deinit { storage?.deallocate() }

    /// Copies `stored` (an internal key, at least 8 bytes) with its
    /// sequence replaced.
    func load(_ stored: UnsafeRawBufferPointer) {
        if stored.count > capacity || storage == nil {
            storage?.deallocate()
            capacity = max(64, stored.count * 2)
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        }
        guard let storage, let source = stored.baseAddress else { count = 0; return }
        storage.copyMemory(from: source, byteCount: stored.count)
        let (_, type) = InternalKey.unpackTrailer(InternalKey.trailer(stored))
        let trailer = (sequence << 8) | UInt64(type)
        storage.storeBytes(of: trailer.littleEndian, toByteOffset: stored.count - InternalKey.trailerSize, as: UInt64.self)
        count = stored.count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    /// Whether a seek to `target` that landed on `stored` must step once
    /// more: `stored` has the target's user key, and with the global
    /// sequence it sorts before the target (it is newer than the target's
    /// sequence). Keys of an ingested table are unique, so one step is
    /// enough.
    func seekMustStep(landedOn stored: UnsafeRawBufferPointer, target: UnsafeRawBufferPointer) -> Bool {
        guard target.count >= InternalKey.trailerSize else { return false }
        let (targetSequence, _) = InternalKey.unpackTrailer(InternalKey.trailer(target))
        return sequence > targetSequence
            && compareBytes(InternalKey.userKey(stored), InternalKey.userKey(target)) == 0
    }
}
