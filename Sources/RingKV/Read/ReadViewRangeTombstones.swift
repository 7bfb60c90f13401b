/// The range tombstones an iterator applies (docs/ARCHITECTURE.md §Range
/// deletion). An iterator merges every source, so unlike a point lookup it
/// cannot meet each table's tombstones as it goes: it gets them all up
/// front, filtered to its sequence, in one `RangeTombstoneIndex`.
extension DBImpl {
    func rangeTombstoneIndex(for view: ReadView) throws(DBError) -> RangeTombstoneIndex {
        var all = view.mem.rangeTombstones.all
        if let imm = view.imm { all += imm.rangeTombstones.all }
        all += try tableRangeTombstones(view.version)
        let visible = all.filter { $0.sequence <= view.sequence }
        return visible.isEmpty ? .empty : RangeTombstoneIndex(visible)
    }

    /// Every table's tombstones, gathered once per version (tables are
    /// immutable, so the memo never goes stale). The first call after a
    /// flush or compaction opens every table of the version through the
    /// table cache.
    func tableRangeTombstones(_ version: Version) throws(DBError) -> [RangeTombstone] {
        if let cached = version.tableRangeTombstones.withLock({ $0 }) { return cached }
        var gathered: [RangeTombstone] = []
        for level in version.files {
            for file in level { gathered += try tableCache.reader(for: file.number).rangeTombstoneList }
        }
        version.tableRangeTombstones.withLock { $0 = gathered }
        return gathered
    }
}
