/// One sorted level (L1 and deeper) as a single internal iterator: the
/// level's tables do not overlap and are ordered by key, so at most one of
/// them holds the cursor. Only that table is opened and read; moving past
/// its end opens the next one. (Iterating every table of a level in the
/// merging heap instead would open, seek and read a block of each table on
/// every seek — what made short scans slow: RocksDB and LevelDB use the
/// same "level iterator" / two-level file iterator.)
///
/// The tables stay on disk for as long as the read view that listed them
/// is held (the `DBIterator` holds it), so a table is opened lazily even if
/// compaction replaced it meanwhile.
///
/// Both directions; with bounds, a table whose smallest user key is >= the
/// upper bound (forward) or whose largest is < the lower bound (reverse)
/// is never opened: the cursor stops before it.
final class LevelIterator: InternalIterator {
    private let files: [FileMetaData]
    /// Opens a table iterator (through the table cache, with the read
    /// options' cache and read-ahead settings).
    private let open: (FileMetaData) throws(DBError) -> TableIterator
    private let bounds: IterationBounds
    /// Index in `files` of the table `current` walks.
    // Exclusivity unchecked: one thread uses the iterator, no re-entry.
    @exclusivity(unchecked) private var fileIndex = 0
    @exclusivity(unchecked) private var current: TableIterator?

    /// `files`: one level's tables in key order, none overlapping.
    init(files: [FileMetaData], bounds: IterationBounds = .unbounded,
         open: @escaping (FileMetaData) throws(DBError) -> TableIterator) {
        self.files = files
        self.bounds = bounds
        self.open = open
    }

    var isValid: Bool { current?.isValid ?? false }

    var key: UnsafeRawBufferPointer {
        precondition(isValid, "LevelIterator.key on an invalid iterator")
        return current.unsafelyUnwrapped.key
    }

    var value: UnsafeRawBufferPointer {
        precondition(isValid, "LevelIterator.value on an invalid iterator")
        return current.unsafelyUnwrapped.value
    }

    func seekToFirst() throws(DBError) {
        try openTable(0, forward: true)
        try current?.seekToFirst()
        try skipExhaustedTables()
    }

    func seekToLast() throws(DBError) {
        try openTable(files.count - 1, forward: false)
        try current?.seekToLast()
        try skipExhaustedTablesBackward()
    }

    /// The first table whose largest key is >= `target` holds the first
    /// entry >= `target`, if any table does.
    func seek(_ target: UnsafeRawBufferPointer) throws(DBError) {
        try openTable(firstFile(endingAtOrAfter: target), forward: true)
        try current?.seek(target)
        try skipExhaustedTables()
    }

    /// Opens the table `seek(target)` lands in (the seek reuses it) and
    /// asks it for its block.
    func planSeekRead(_ target: UnsafeRawBufferPointer, into batch: inout SeekReadBatch) throws(DBError) {
        try openTable(firstFile(endingAtOrAfter: target), forward: true)
        try current?.planSeekRead(target, into: &batch)
    }

    /// The table that would hold `target` (the first whose largest key is
    /// >= it) holds the last entry <= `target` unless it starts after
    /// `target`; then the table before it ends with that entry.
    func seekForPrev(_ target: UnsafeRawBufferPointer) throws(DBError) {
        let index = firstFile(endingAtOrAfter: target)
        if index < files.count, files[index].smallest.withUnsafeBytes({ InternalKey.compare($0, target) }) <= 0 {
            try openTable(index, forward: false)
            try current?.seekForPrev(target)
        } else {
            try openTable(index - 1, forward: false)
            try current?.seekToLast()
        }
        try skipExhaustedTablesBackward()
    }

    func next() throws(DBError) {
        precondition(isValid, "LevelIterator.next on an invalid iterator")
        try current.unsafelyUnwrapped.next()
        try skipExhaustedTables()
    }

    func prev() throws(DBError) {
        precondition(isValid, "LevelIterator.prev on an invalid iterator")
        try current.unsafelyUnwrapped.prev()
        try skipExhaustedTablesBackward()
    }

    // MARK: - Tables

    /// Index of the first table whose largest key is >= `target`
    /// (`files.count` when none is).
    private func firstFile(endingAtOrAfter target: UnsafeRawBufferPointer) -> Int {
        var low = 0, high = files.count
        while low < high {
            let mid = (low + high) / 2
            if files[mid].largest.withUnsafeBytes({ InternalKey.compare($0, target) }) < 0 {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// Makes `files[index]` the current table (none outside the level, or
    /// when the bounds exclude the whole table in the direction of travel:
    /// `forward`, it starts at or past the upper bound; else it ends below
    /// the lower bound). Reuses the open iterator when it already walks
    /// that table.
    private func openTable(_ index: Int, forward: Bool) throws(DBError) {
        let excluded = index >= 0 && index < files.count
            && (forward ? files[index].smallestUserKey.withUnsafeBytes { bounds.isAtOrPastUpper($0) }
                        : files[index].largestUserKey.withUnsafeBytes { bounds.isBeforeLower($0) })
        guard index >= 0, index < files.count, !excluded else {
            current = nil
            fileIndex = forward ? files.count : -1
            return
        }
        if current != nil && fileIndex == index { return }
        current = nil
        fileIndex = index
        current = try open(files[index])
    }

    /// While the current table is exhausted, moves to the next one's start.
    private func skipExhaustedTables() throws(DBError) {
        while let c = current, !c.isValid {
            try openTable(fileIndex + 1, forward: true)
            try current?.seekToFirst()
        }
    }

    /// While the current table is exhausted backwards, moves to the
    /// previous one's end.
    private func skipExhaustedTablesBackward() throws(DBError) {
        while let c = current, !c.isValid {
            try openTable(fileIndex - 1, forward: false)
            try current?.seekToLast()
        }
    }
}
