/// A dropped keyspace a MANIFEST still carries: its create record and the
/// newest WAL file that may hold its operations, so a change feed can
/// name its changes in WAL files older than the drop across reopens
/// (docs/FORMAT.md §Snapshot edit, docs/REPLICATION.md §Change feed).
///
/// How data flows: `KeyspaceCatalog` notes each drop with the keyspace's
/// log number at that moment (`droppedLogNumber`; meaningful only for the
/// snapshot records below, which write the bound there). A new MANIFEST's
/// snapshot writes each carried keyspace as two records, its create with
/// `keyspaceLogNumber` = `lastLogNumber`, then its drop, which any build
/// of format 5 replays. At open, `retain` decides what the next snapshot
/// carries, from the WAL files on disk before the new one is created:
/// - a keyspace the replayed snapshot carried keeps its bound, and is kept
///   while a WAL file numbered at or below it is on disk;
/// - one dropped in the session the replayed MANIFEST logged has all its
///   operations in the WAL files of that session or before: its bound is
///   the newest WAL file on disk, and it is kept while any is.
/// A keyspace dropped in this session and written by a checkpoint's
/// snapshot takes the file counter as its bound. The rule may carry a
/// record longer than needed, never drop it while a WAL file could hold
/// its changes.
struct DroppedKeyspace: Equatable, Sendable {
    var record: VersionEdit.KeyspaceRecord
    /// Its log number when the drop was applied.
    var droppedLogNumber: UInt64?
    /// The newest WAL file that may hold its operations (nil: not known
    /// yet; set by `retain`).
    var lastLogNumber: UInt64?

    var name: String { record.name }
}

enum DroppedKeyspaces {
    /// Keeps the dropped keyspaces of `catalog` that a WAL file in
    /// `logNumbersOnDisk` may still hold, with their bounds set.
    static func retain(in catalog: inout KeyspaceCatalog<Version>, droppedInSnapshot: Set<UInt32>,
                       logNumbersOnDisk: [UInt64]) {
        var kept: [UInt32: DroppedKeyspace] = [:]
        if let oldest = logNumbersOnDisk.min(), let newest = logNumbersOnDisk.max() {
            for (id, var dropped) in catalog.dropped {
                let bound = droppedInSnapshot.contains(id) ? dropped.droppedLogNumber ?? newest : newest
                guard oldest <= bound else { continue }
                dropped.lastLogNumber = bound
                kept[id] = dropped
            }
        }
        catalog.replaceDropped(kept)
    }

    /// The snapshot records of the carried keyspaces, by id: for each, its
    /// create with its bound as log number, then its drop. A keyspace
    /// without a bound takes `nextFileNumber - 1` (no WAL file is newer).
    static func snapshotEdits(_ dropped: [UInt32: DroppedKeyspace], nextFileNumber: UInt64) -> [VersionEdit] {
        var edits: [VersionEdit] = []
        for id in dropped.keys.sorted() {
            guard let carried = dropped[id] else { continue }
            var create = VersionEdit()
            create.createdKeyspaces = [carried.record]
            create.keyspaceLogNumbers = [(id, carried.lastLogNumber ?? nextFileNumber - 1)]
            var drop = VersionEdit()
            drop.droppedKeyspaces = [id]
            edits += [create, drop]
        }
        return edits
    }
}
