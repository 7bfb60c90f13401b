import RingIO
import Synchronization

/// The range tombstones of one memtable, kept apart from the skiplist (as
/// RocksDB keeps a separate range-deletion memtable): few, whole ranges,
/// each written by one `deleteRange` (docs/ARCHITECTURE.md §Range deletion).
///
/// Writers append under the mutex; readers ask `coveringSequence`, which
/// (re)builds the `RangeTombstoneIndex` on first use after an append. The
/// count is an atomic so the common case — no tombstone — costs readers
/// one relaxed load and no lock.
final class MemTableRangeTombstones: Sendable {
    private struct State {
        var tombstones: [RangeTombstone] = []
        /// nil when `tombstones` changed since it was built.
        var index: RangeTombstoneIndex? = .empty
    }

    /// Guards the list and the index built from it (`Locked`, not
    /// `Mutex`: ThreadSanitizer sees pthread mutexes only).
    private let state = Locked(State())
    private let count = Atomic<Int>(0)
    private let bytes = Atomic<Int>(0)

    /// Per-tombstone overhead counted besides its keys: the list slot, two
    /// array headers and the sequence (so many tiny ranges still fill the
    /// memtable and get flushed).
    static let overheadBytes = 96

    var isEmpty: Bool { count.load(ordering: .acquiring) == 0 }

    func add(_ tombstone: RangeTombstone) {
        state.withLock {
            $0.tombstones.append(tombstone)
            $0.index = nil
        }
        bytes.add(tombstone.start.count + tombstone.end.count + Self.overheadBytes, ordering: .relaxed)
        count.add(1, ordering: .releasing)
    }

    /// Approximate memory the tombstones hold; part of the memtable's size.
    var memoryUsageBytes: Int { bytes.load(ordering: .relaxed) }

    /// See `RangeTombstoneIndex.coveringSequence`.
    func coveringSequence(_ userKey: UnsafeRawBufferPointer, atOrBelow snapshot: SequenceNumber) -> SequenceNumber {
        if isEmpty { return 0 }
        let index = state.withLock { s -> RangeTombstoneIndex in
            if let built = s.index { return built }
            let built = RangeTombstoneIndex(s.tombstones)
            s.index = built
            return built
        }
        return index.coveringSequence(userKey, atOrBelow: snapshot)
    }

    /// Every tombstone added so far (for flushes and iterators).
    var all: [RangeTombstone] {
        if isEmpty { return [] }
        return state.withLock { $0.tombstones }
    }
}
