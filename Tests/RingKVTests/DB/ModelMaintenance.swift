import Testing
@testable import RingKV

/// The maintenance steps of the randomized model tests over keyspaces
/// (MergeModelTests, TTLModelTests): hold or release a snapshot with the
/// models of its moment, flush or compact one keyspace, reopen the
/// database. The test keeps its writes and checks; this holds the live
/// snapshots, which its checks read through `snapshots`, and counts each
/// step in the test's `stats`.
struct ModelMaintenance<Model> {
    enum Step: String {
        case snapshot, flush, compactRange, reopen

        /// The step for `roll` in 0..<12: 4 snapshot, 4 flush, 3
        /// compactRange and 1 reopen out of 12.
        static func forRoll(_ roll: Int) -> Step {
            switch roll {
            case ..<4: .snapshot
            case 4..<8: .flush
            case 8..<11: .compactRange
            default: .reopen
            }
        }
    }

    /// Live snapshots (at most 4) and what each keyspace held when it was taken.
    var snapshots: [(snapshot: Snapshot, models: [Model])] = []

    /// Runs `step`; flush and compactRange act on `handle`. A reopen is a
    /// clean close or, half the time, a process that died (acknowledged
    /// writes are in the page cache, so the WAL replays them all); it
    /// drops the snapshots, which do not survive it, and replaces `db`
    /// and `handles` with what `open` returns.
    mutating func run(_ step: Step, on handle: Keyspace, db: inout DB, handles: inout [Keyspace], models: [Model],
                      rng: inout SeededRandom, stats: inout [String: Int],
                      open: () throws -> (DB, [Keyspace])) throws {
        switch step {
        case .snapshot:
            if snapshots.count < 4 {
                snapshots.append((db.snapshot(), models))
            } else {
                snapshots.remove(at: Int.random(in: 0..<snapshots.count, using: &rng))
            }
        case .flush:
            try handle.flush()
        case .compactRange:
            try handle.compactRange()
        case .reopen:
            snapshots.removeAll()
            if Bool.random(using: &rng) { try db.close() } else { db.impl.abandonForCrashTest() }
            handles = []
            (db, handles) = try open()
        }
        stats[step.rawValue, default: 0] += 1
    }
}
