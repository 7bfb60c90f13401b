import RingIO

/// A consistent read view: reads through `ReadOptions(snapshot:)` see the
/// database as it was when the snapshot was taken. Released when the last
/// reference goes away; while it lives, compaction keeps the versions it
/// can see.
public final class Snapshot: Sendable {
    /// The newest sequence number visible to this snapshot.
    public let sequence: UInt64
    private let registry: SnapshotRegistry
    /// A follower's catch-up count when the snapshot was taken (0 on any
    /// other database): a follower refuses a snapshot from before its last
    /// `catchUp()` — the primary's compactions know nothing of it and may
    /// have dropped what it would read.
    let followerGeneration: UInt64

    init(sequence: UInt64, registry: SnapshotRegistry, followerGeneration: UInt64 = 0) {
        self.sequence = sequence
        self.registry = registry
        self.followerGeneration = followerGeneration
        registry.retain(sequence)
    }

    deinit { registry.release(sequence) }

    /// Whether the snapshot was taken of the database owning `registry`
    /// (a read refuses another database's: its compactions keep nothing
    /// for it).
    func isTaken(from registry: SnapshotRegistry) -> Bool { self.registry === registry }
}

/// Live snapshot sequence numbers with their counts; compaction asks for
/// the oldest. Kept as an array sorted by sequence: a new snapshot is
/// almost always at the newest sequence (an append or a count at the
/// end), and a release finds its entry by binary search — no hashing,
/// and no allocation while the array has room (every transaction takes
/// and releases one).
final class SnapshotRegistry: Sendable {
    /// (sequence, number of live Snapshot objects holding it), ascending by
    /// sequence, no count zero.
    private let live = Locked<[(sequence: UInt64, count: Int)]>([])

    /// The index of the first entry with a sequence >= `sequence`.
    private static func position(of sequence: UInt64, in entries: [(sequence: UInt64, count: Int)]) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].sequence < sequence { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func retain(_ sequence: UInt64) {
        live.withLock { entries in
            if let last = entries.last, last.sequence <= sequence {
                if last.sequence == sequence { entries[entries.count - 1].count += 1 } else {
                    entries.append((sequence, 1))
                }
                return
            }
            let i = SnapshotRegistry.position(of: sequence, in: entries)
            if i < entries.count && entries[i].sequence == sequence {
                entries[i].count += 1
            } else {
                entries.insert((sequence, 1), at: i)
            }
        }
    }

    func release(_ sequence: UInt64) {
        live.withLock { entries in
            let i = SnapshotRegistry.position(of: sequence, in: entries)
            guard i < entries.count && entries[i].sequence == sequence else { return }
            if entries[i].count > 1 { entries[i].count -= 1 } else { entries.remove(at: i) }
        }
    }

    /// The smallest live snapshot sequence, or nil when none is held.
    var oldest: UInt64? { live.withLock { $0.first?.sequence } }
    /// Every live snapshot sequence, ascending (merge folding must not
    /// cross any of them: `MergeFolder`).
    var sequences: [UInt64] { live.withLock { $0.map(\.sequence) } }
    var count: Int { live.withLock { $0.reduce(0) { $0 + $1.count } } }
}
