/// Decides where a compaction cuts its outputs, looking at the grandparent
/// level (output level + 1), whose tables a later compaction of each
/// output will rewrite:
///
/// - no output overlaps more than `limitBytes` of the grandparent level,
///   so compacting it later rewrites a bounded amount (LevelDB's rule);
/// - an output at least half the target size ends where the keys pass the
///   end of a grandparent table, or enter one from a gap between them
///   (RocksDB 7.8 aligns its outputs in a like way): an output cut
///   anywhere else reaches a little way into the next grandparent table,
///   and its later compaction rewrites that whole table for those few
///   keys; an output that lies in a gap alone moves down without a merge. The share of the target an output must reach
///   before such a cut grows by 1/20 per boundary it has already passed
///   uncut (to 9/10 at most), so grandparent tables much smaller than the
///   target do not make the outputs small.
///
/// The job calls `shouldStopBefore` with every user key that starts in an
/// output, ascending, and the bytes the current output holds so far; the
/// size cut at the target itself stays with the job.
struct GrandparentOverlap {
    private let grandparents: [FileMetaData]
    let limitBytes: UInt64
    /// The job's output target (`Options.targetFileSizeBytes`); 0: never cut
    /// at a grandparent boundary (only at `limitBytes`).
    let targetBytes: UInt64
    private var index = 0
    private var seenKey = false
    private var overlappedBytes: UInt64 = 0
    /// Grandparent boundaries the current output's keys passed without a cut.
    private var boundariesPassed: UInt64 = 0
    /// The last key lay between grandparent tables (or past the last one).
    private var wasInGap = false

    /// First share of the target (in percent) at which an output is cut at
    /// a grandparent boundary, what each passed boundary adds, and the most.
    static let alignStartPercent: UInt64 = 50
    static let alignStepPercent: UInt64 = 5
    static let alignMaxPercent: UInt64 = 90

    init(grandparents: [FileMetaData], limitBytes: UInt64, targetBytes: UInt64 = 0) {
        self.grandparents = grandparents
        self.limitBytes = limitBytes
        self.targetBytes = targetBytes
    }

    /// Bytes the current output must hold before a cut at a grandparent
    /// boundary, after passing `boundariesPassed` of them uncut.
    static func alignThresholdBytes(targetBytes: UInt64, boundariesPassed: UInt64) -> UInt64 {
        let percent = min(alignStartPercent + alignStepPercent * min(boundariesPassed, 100), alignMaxPercent)
        return CompactionPicker.saturatingMultiply(targetBytes / 100, percent)
            + (targetBytes % 100) * percent / 100
    }

    /// True when the current output (holding `outputBytes` so far) should
    /// end before `userKey`; the counts then restart for the next output.
    mutating func shouldStopBefore(userKey: UnsafeRawBufferPointer, outputBytes: UInt64 = 0) -> Bool {
        var crossed = false
        while index < grandparents.count,
              grandparents[index].largestUserKey.withUnsafeBytes({ compareBytes(userKey, $0) }) > 0 {
            if seenKey {
                overlappedBytes += grandparents[index].fileSizeBytes
                crossed = true
            }
            index += 1
        }
        // Entering a grandparent table from the gap before it is a boundary
        // too: an output that ends there lies in the gap alone, and is later
        // moved down a level without a merge.
        let inGap = index == grandparents.count
            || grandparents[index].smallestUserKey.withUnsafeBytes({ compareBytes(userKey, $0) }) < 0
        if seenKey && wasInGap && !inGap { crossed = true }
        wasInGap = inGap
        seenKey = true
        if overlappedBytes > limitBytes {
            restart()
            return true
        }
        guard crossed, targetBytes > 0 else { return false }
        if outputBytes > 0,
           outputBytes >= Self.alignThresholdBytes(targetBytes: targetBytes, boundariesPassed: boundariesPassed) {
            restart()
            return true
        }
        if outputBytes > 0 { boundariesPassed += 1 }
        return false
    }

    /// The job cut an output before the current key for another reason
    /// (its size reached the target): the next output's counts start here.
    mutating func outputEnded() { restart() }

    private mutating func restart() {
        overlappedBytes = 0
        boundariesPassed = 0
    }
}
