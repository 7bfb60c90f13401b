import RingIO
import Synchronization

/// An immutable snapshot of which tables make up the database, level by
/// level. Readers take the current `Version` from the `VersionSet` and keep
/// it for as long as they read; every table it names stays on disk while
/// the `Version` object is alive (see `VersionSet.liveFileNumbers`).
///
/// Invariants (established by `VersionBuilder`, relied on by the queries):
/// - Level 0 is ordered newest first (file number descending); its files may
///   overlap each other.
/// - Levels 1... are ordered by smallest user key and their user-key ranges
///   do not overlap: `files[i].largestUserKey < files[i+1].smallestUserKey`.
///   A user key therefore lives in at most one table per level, which is why
///   compaction must never split one user key's entries across two outputs.
package final class Version: Sendable {
    package static let numLevels = 7

    /// `files[level]`, in the order stated above.
    package let files: [[FileMetaData]]
    /// Sum of `fileSizeBytes` per level.
    private let levelSizesBytes: [UInt64]
    /// The range tombstones of all tables, gathered on first need by the
    /// read path (`DBImpl.tableRangeTombstones`); guards only the memo.
    let tableRangeTombstones = Locked<[RangeTombstone]?>(nil)
    /// Unique among this process's versions: what code that must know a
    /// version again compares (a weak reference would slow every retain
    /// and release of it: `LiveVersions`).
    let id = Version.nextID.add(1, ordering: .relaxed).newValue
    private static let nextID = Atomic<UInt64>(0)
    /// The registry that tracks this version once the version set has
    /// installed it (`LiveVersions.track`); told when it dies.
    private let registry = Locked<LiveVersions?>(nil)

    init(files: [[FileMetaData]]) {
        precondition(files.count == Version.numLevels, "a Version has exactly \(Version.numLevels) levels")
        self.files = files
        self.levelSizesBytes = files.map { level in level.reduce(0) { $0 + $1.fileSizeBytes } }
    }

    deinit { registry.withLock { $0 }?.remove(id: id) }

    /// Records `live` as this version's registry; false when it had one.
    func attach(to live: LiveVersions) -> Bool {
        registry.withLock { r in
            guard r == nil else { return false }
            r = live
            return true
        }
    }

    static let empty = Version(files: Array(repeating: [], count: numLevels))

    // MARK: - Level statistics

    func levelBytes(_ level: Int) -> UInt64 { levelSizesBytes[level] }

    func fileCount(_ level: Int) -> Int { files[level].count }

    var totalFileCount: Int { files.reduce(0) { $0 + $1.count } }

    /// Every table number this version references.
    var fileNumbers: Set<UInt64> {
        var numbers = Set<UInt64>(minimumCapacity: totalFileCount)
        for level in files { for f in level { numbers.insert(f.number) } }
        return numbers
    }

    /// The largest table number referenced, or 0 for an empty version.
    var maxFileNumber: UInt64 {
        files.reduce(0) { m, level in level.reduce(m) { max($0, $1.number) } }
    }

    // MARK: - Point lookups

    /// The tables that may hold `userKey`, in the order a lookup must
    /// search them: every level-0 table whose range contains the key, newest
    /// first, then at most one table per deeper level. The first table that
    /// has an entry for the key (value or deletion) answers the lookup.
    func filesToSearch(forUserKey userKey: UnsafeRawBufferPointer) -> [(level: Int, file: FileMetaData)] {
        var out: [(level: Int, file: FileMetaData)] = []
        for f in files[0] where f.contains(userKey: userKey) {
            out.append((0, f))
        }
        for level in 1..<Version.numLevels {
            if let f = fileContaining(level: level, userKey: userKey) { out.append((level, f)) }
        }
        return out
    }

    func filesToSearch(forUserKey userKey: [UInt8]) -> [(level: Int, file: FileMetaData)] {
        userKey.withUnsafeBytes { filesToSearch(forUserKey: $0) }
    }

    /// Index of the first table of `level` (>= 1) whose largest user key is
    /// >= `userKey`; `files[level].count` when none is.
    func firstFileIndex(level: Int, atOrAfter userKey: UnsafeRawBufferPointer) -> Int {
        precondition(level >= 1, "binary search needs a sorted, non-overlapping level")
        let levelFiles = files[level]
        var low = 0, high = levelFiles.count
        while low < high {
            let mid = (low + high) / 2
            if levelFiles[mid].largestUserKey.withUnsafeBytes({ compareBytes($0, userKey) }) < 0 {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// The one table of `level` (>= 1) whose range contains `userKey`.
    func fileContaining(level: Int, userKey: UnsafeRawBufferPointer) -> FileMetaData? {
        let i = firstFileIndex(level: level, atOrAfter: userKey)
        guard i < files[level].count else { return nil }
        let f = files[level][i]
        return f.smallestUserKey.withUnsafeBytes({ compareBytes($0, userKey) }) <= 0 ? f : nil
    }

    // MARK: - Range queries

    /// The tables of `level` whose user-key range intersects
    /// [smallestUserKey, largestUserKey] (nil = unbounded on that side), in
    /// the level's own order. For level 0 this is the plain intersection;
    /// a compaction that needs the transitive closure of overlapping L0
    /// tables widens the range and asks again.
    func overlappingFiles(level: Int, smallestUserKey: [UInt8]?, largestUserKey: [UInt8]?) -> [FileMetaData] {
        let levelFiles = files[level]
        if level == 0 {
            return levelFiles.filter { $0.overlaps(smallestUserKey: smallestUserKey, largestUserKey: largestUserKey) }
        }
        let start = smallestUserKey.map { key in key.withUnsafeBytes { firstFileIndex(level: level, atOrAfter: $0) } } ?? 0
        var out: [FileMetaData] = []
        var i = start
        while i < levelFiles.count {
            let f = levelFiles[i]
            if let largestUserKey, compareBytes(f.smallestUserKey, largestUserKey) > 0 { break }
            out.append(f)
            i += 1
        }
        return out
    }

    /// True when some table of `level` intersects the range.
    func overlapsRange(level: Int, smallestUserKey: [UInt8]?, largestUserKey: [UInt8]?) -> Bool {
        !overlappingFiles(level: level, smallestUserKey: smallestUserKey, largestUserKey: largestUserKey).isEmpty
    }

    /// One line per level with its tables, for debugging and `kvctl stats`.
    var debugDescription: String {
        var s = ""
        for level in 0..<Version.numLevels where !files[level].isEmpty {
            s += "L\(level) (\(files[level].count) files, \(levelBytes(level)) B):"
            for f in files[level] { s += " \(f)" }
            s += "\n"
        }
        return s
    }
}
