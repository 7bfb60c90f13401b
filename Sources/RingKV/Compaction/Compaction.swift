/// One unit of compaction work, chosen by `CompactionPicker` (or by
/// `DB.compactRange`) against one `Version`: the tables to merge, the level
/// the results go to, and what the merge needs to know about the levels
/// around it (docs/ARCHITECTURE.md §Compaction).
///
/// Immutable once built. The tables it names stay in the version set until
/// its edit is installed: the scheduler marks them busy so no second
/// compaction takes them.
struct Compaction: Sendable {
    enum Reason: String, Sendable {
        /// L0 reached `l0CompactionTrigger` files.
        case level0FileCount = "L0 file count"
        /// A level's bytes exceeded its target.
        case levelSize = "level size"
        /// `DB.compactRange`.
        case manual
        /// Reads kept searching the table in vain (`FileMetaData.allowedSeeks`).
        case seeks
    }

    /// Level the `inputs` are taken from.
    let level: Int
    /// Level the outputs are written to: `level + 1`, or `level` itself for
    /// a manual rewrite of the bottom level in place.
    let outputLevel: Int
    /// Tables of `level`. For L0 the transitive closure of overlapping
    /// tables, so no older L0 table with a key of the range stays behind.
    let inputs: [FileMetaData]
    /// Tables of `outputLevel` overlapping the user-key range of `inputs`
    /// (empty for an in-place rewrite, whose tables are all in `inputs`).
    let outputLevelInputs: [FileMetaData]
    /// Tables of `outputLevel + 1` overlapping the whole input range: an
    /// output is cut before it would overlap too many of them, so a later
    /// compaction of that output stays small.
    let grandparents: [FileMetaData]
    /// The levels below `outputLevel`, as of the version the compaction was
    /// picked from: a tombstone may only be dropped when none of them can
    /// hold its key.
    let deeperLevels: [[FileMetaData]]
    let reason: Reason
    /// The score of `level` when it was picked (>= 1 for automatic work).
    let score: Double

    /// Smallest and largest user key over every input table.
    let smallestUserKey: [UInt8]
    let largestUserKey: [UInt8]

    init(level: Int, outputLevel: Int, inputs: [FileMetaData], outputLevelInputs: [FileMetaData],
         version: Version, reason: Reason, score: Double) {
        precondition(!inputs.isEmpty, "a compaction needs at least one input table")
        precondition(outputLevel == level || outputLevel == level + 1, "compaction output goes to the same or the next level")
        precondition(outputLevel < Version.numLevels, "output level past the last level")
        self.level = level
        self.outputLevel = outputLevel
        self.inputs = inputs
        self.outputLevelInputs = outputLevelInputs
        self.reason = reason
        self.score = score
        let (smallest, largest) = CompactionPicker.userKeyRange(inputs + outputLevelInputs)
        smallestUserKey = smallest
        largestUserKey = largest
        let grandparentLevel = outputLevel + 1
        grandparents = grandparentLevel < Version.numLevels
            ? version.overlappingFiles(level: grandparentLevel, smallestUserKey: smallest, largestUserKey: largest)
            : []
        deeperLevels = grandparentLevel < Version.numLevels ? Array(version.files[grandparentLevel...]) : []
    }

    /// Every table read (and deleted when the compaction is installed).
    var allInputs: [FileMetaData] { inputs + outputLevelInputs }

    var inputBytes: UInt64 { allInputs.reduce(0) { $0 + $1.fileSizeBytes } }

    var grandparentBytes: UInt64 { grandparents.reduce(0) { $0 + $1.fileSizeBytes } }

    /// A single table with nothing to merge against and little grandparent
    /// overlap is moved to the next level by a manifest edit alone.
    func isTrivialMove(maxGrandparentOverlapBytes: UInt64) -> Bool {
        reason != .manual && outputLevel == level + 1 && inputs.count == 1 && outputLevelInputs.isEmpty
            && grandparentBytes <= maxGrandparentOverlapBytes
    }

    /// Where the next size-triggered compaction of `level` starts: after
    /// the largest key this one consumed (round robin over the key space).
    var nextCompactPointer: [UInt8] {
        var largest = inputs[0].largest
        for f in inputs.dropFirst() where compareInternalKeys(f.largest, largest) > 0 { largest = f.largest }
        return largest
    }

    var description: String {
        let names = { (files: [FileMetaData]) in files.map { "#\($0.number)" }.joined(separator: ",") }
        return "L\(level)[\(names(inputs))] + L\(outputLevel)[\(names(outputLevelInputs))] -> L\(outputLevel) (\(reason.rawValue), score \(score))"
    }
}
