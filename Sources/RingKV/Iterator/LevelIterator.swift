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
final class LevelIterator: InternalIterator {
    private let files: [FileMetaData]
    /// Opens a table iterator (through the table cache, with the read
    /// options' cache and read-ahead settings).
    private let open: (FileMetaData) throws -> TableIterator
    /// Index in `files` of the table `current` walks.
    // Exclusivity unchecked: one thread uses the iterator, no re-entry.
    @exclusivity(unchecked) private var fileIndex = 0
    @exclusivity(unchecked) private var current: TableIterator?

    /// `files`: one level's tables in key order, none overlapping.
    init(files: [FileMetaData], open: @escaping (FileMetaData) throws -> TableIterator) {
        self.files = files
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

    func seekToFirst() throws {
        try openTable(0)
        try current?.seekToFirst()
        try skipExhaustedTables()
    }

    /// The first table whose largest key is >= `target` holds the first
    /// entry >= `target`, if any table does.
    func seek(_ target: UnsafeRawBufferPointer) throws {
        var low = 0, high = files.count
        while low < high {
            let mid = (low + high) / 2
            if files[mid].largest.withUnsafeBytes({ InternalKey.compare($0, target) }) < 0 {
                low = mid + 1
            } else {
                high = mid
            }
        }
        try openTable(low)
        try current?.seek(target)
        try skipExhaustedTables()
    }

    func next() throws {
        precondition(isValid, "LevelIterator.next on an invalid iterator")
        try current.unsafelyUnwrapped.next()
        try skipExhaustedTables()
    }

    // MARK: - Tables

    /// Makes `files[index]` the current table (none past the end). Reuses
    /// the open iterator when it already walks that table.
    private func openTable(_ index: Int) throws {
        guard index < files.count else {
            current = nil
            fileIndex = files.count
            return
        }
        if current != nil && fileIndex == index { return }
        current = nil
        fileIndex = index
        current = try open(files[index])
    }

    /// While the current table is exhausted, moves to the next one's start.
    private func skipExhaustedTables() throws {
        while let c = current, !c.isValid {
            try openTable(fileIndex + 1)
            try current?.seekToFirst()
        }
    }
}
