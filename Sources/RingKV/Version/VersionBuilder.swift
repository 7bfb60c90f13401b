/// Applies a sequence of `VersionEdit`s to a base `Version`, checking on
/// every step that the result keeps the invariants `Version` relies on:
/// level 0 newest first, levels 1... sorted and non-overlapping, every table
/// number present at most once, and deletions only of tables present.
///
/// Used by `VersionSet.logAndApply` (one edit on the current version) and
/// by MANIFEST replay (every edit of the file on an empty version).
struct VersionBuilder {
    /// Why an edit does not apply; the caller adds path and offset.
    struct Violation: Error {
        var reason: String
    }

    private var levels: [[FileMetaData]]
    /// Table number -> level, for every table in `levels`.
    private var levelOfFile: [UInt64: Int]

    init(base: Version) {
        levels = base.files
        levelOfFile = [:]
        for (level, files) in base.files.enumerated() {
            for f in files { levelOfFile[f.number] = level }
        }
    }

    /// Applies deletions, then additions. On a thrown violation the builder
    /// may hold part of the edit and must be discarded.
    mutating func apply(_ edit: VersionEdit) throws(Violation) {
        for deleted in edit.deletedFiles.sorted() {
            guard levelOfFile[deleted.number] == deleted.level,
                  let index = levels[deleted.level].firstIndex(where: { $0.number == deleted.number }) else {
                let actual = levelOfFile[deleted.number].map { "it is at level \($0)" } ?? "it is not in the version"
                throw Violation(reason: "edit deletes file \(deleted.number) from level \(deleted.level), but \(actual)")
            }
            levels[deleted.level].remove(at: index)
            levelOfFile[deleted.number] = nil
        }
        for (level, file) in edit.newFiles {
            guard level >= 0 && level < Version.numLevels else {
                throw Violation(reason: "edit adds file \(file.number) at level \(level), out of range")
            }
            if let existing = levelOfFile[file.number] {
                throw Violation(reason: "edit adds file \(file.number) at level \(level), but it is already at level \(existing)")
            }
            if level == 0 {
                insertLevel0(file)
            } else {
                try insertSorted(level: level, file)
            }
            levelOfFile[file.number] = level
        }
    }

    func build() -> Version { Version(files: levels) }

    /// Keeps level 0 ordered by file number, descending.
    private mutating func insertLevel0(_ file: FileMetaData) {
        let index = levels[0].firstIndex(where: { $0.number < file.number }) ?? levels[0].count
        levels[0].insert(file, at: index)
    }

    /// Inserts into a sorted level, refusing a table whose user-key range
    /// touches a neighbour's.
    private mutating func insertSorted(level: Int, _ file: FileMetaData) throws(Violation) {
        let files = levels[level]
        // First table whose smallest user key is >= the new table's.
        var low = 0, high = files.count
        while low < high {
            let mid = (low + high) / 2
            if compareBytes(files[mid].smallestUserKey, file.smallestUserKey) < 0 { low = mid + 1 } else { high = mid }
        }
        if low > 0 {
            let previous = files[low - 1]
            guard compareBytes(previous.largestUserKey, file.smallestUserKey) < 0 else {
                throw Violation(reason: "file \(file.number) \(file) overlaps file \(previous.number) \(previous) at level \(level)")
            }
        }
        if low < files.count {
            let next = files[low]
            guard compareBytes(file.largestUserKey, next.smallestUserKey) < 0 else {
                throw Violation(reason: "file \(file.number) \(file) overlaps file \(next.number) \(next) at level \(level)")
            }
        }
        levels[level].insert(file, at: low)
    }
}
