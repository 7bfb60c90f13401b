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
}

/// Live snapshot sequence numbers with their counts; compaction asks for
/// the oldest.
final class SnapshotRegistry: Sendable {
    /// sequence -> number of live Snapshot objects holding it.
    private let live = Locked<[UInt64: Int]>([:])

    func retain(_ sequence: UInt64) { live.withLock { $0[sequence, default: 0] += 1 } }

    func release(_ sequence: UInt64) {
        live.withLock { map in
            let n = (map[sequence] ?? 1) - 1
            map[sequence] = n > 0 ? n : nil
        }
    }

    /// The smallest live snapshot sequence, or nil when none is held.
    var oldest: UInt64? { live.withLock { $0.keys.min() } }
    /// Every live snapshot sequence, ascending (merge folding must not
    /// cross any of them: `MergeFolder`).
    var sequences: [UInt64] { live.withLock { $0.keys.sorted() } }
    var count: Int { live.withLock { $0.values.reduce(0, +) } }
}
