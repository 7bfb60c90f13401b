import Synchronization

/// What the version set knows about one sorted table: its number (the file
/// is `NNNNNN.sst`), its size, and the internal-key range it covers.
///
/// Immutable and shared by every `Version` that references the table. The
/// user-key halves of the bounds are kept alongside the internal keys
/// because every lookup and overlap test compares user keys only. The
/// mutable parts, `allowedSeeks` and `seekAllowanceWidened`, are atomics
/// kept in memory only.
package final class FileMetaData: Sendable, Equatable, CustomStringConvertible {
    package let number: UInt64
    package let fileSizeBytes: UInt64

    /// The largest table a MANIFEST may name (1 TiB; docs/FORMAT.md
    /// §MANIFEST, tags 3 and 13): a larger size is damage, refused when
    /// decoded, so sums of table sizes (level sizes, compaction inputs)
    /// cannot overflow. Compaction outputs stay far below it
    /// (`Options.targetFileSizeBytes` <= 256 GiB) and ingest refuses larger
    /// files.
    package static let maxFileSizeBytes: UInt64 = 1 << 40
    /// Smallest internal key in the table (user key ++ fixed64 trailer).
    let smallest: [UInt8]
    /// Largest internal key in the table.
    let largest: [UInt8]
    package let smallestSequence: SequenceNumber
    package let largestSequence: SequenceNumber
    /// `smallest` without its 8-byte trailer.
    package let smallestUserKey: [UInt8]
    /// `largest` without its 8-byte trailer.
    package let largestUserKey: [UInt8]
    /// For an ingested table (docs/INGEST.md): the one sequence number
    /// every entry of the file takes, whatever its stored trailer says
    /// (0: none; the entries' own sequences count). MANIFEST tag 13.
    package let globalSequence: SequenceNumber
    /// Reads that searched this table in vain before finding their key in
    /// another one, still allowed before the table is compacted for them
    /// (LevelDB's allowed_seeks): one per `bytesPerAllowedSeek` of the
    /// table, at least 100, and — for gets, once that runs out — one per
    /// KiB of what it overlaps one level down (`DBImpl.SeekCharge`).
    /// Starts afresh at each open.
    let allowedSeeks: Atomic<Int>
    /// Set when the allowance has been widened by the table's next-level
    /// overlap (once per table).
    let seekAllowanceWidened = Atomic<Bool>(false)

    /// Bytes a compaction would merge per allowed search in vain: 1 KiB,
    /// where LevelDB, priced for 10 ms disk seeks, allows one per 16 KiB of
    /// the table alone. A search in vain past a filter is one block read
    /// (≈100 µs from an SSD, a few µs from the page cache); merging 1 KiB
    /// costs ≈5 µs here (a 50 MB L0 table over 240 MB of L1: 1.2 s). At 16
    /// KiB of the table alone, a read-only workload compacted that table
    /// after 3k filter false positives: 1.2 s of compaction to save well
    /// under 0.1 s of reads (docs/LOG.md).
    static let bytesPerAllowedSeek: UInt64 = 1 << 10

    /// Both bounds must be encoded internal keys (at least 8 bytes) with
    /// `smallest <= largest`; `VersionEdit.decode` checks this for data from
    /// disk before calling here.
    init(number: UInt64, fileSizeBytes: UInt64, smallest: [UInt8], largest: [UInt8],
         smallestSequence: SequenceNumber, largestSequence: SequenceNumber, globalSequence: SequenceNumber = 0) {
        precondition(smallest.count >= InternalKey.trailerSize && largest.count >= InternalKey.trailerSize,
                     "FileMetaData bounds must be internal keys (>= 8 bytes)")
        self.number = number
        self.fileSizeBytes = fileSizeBytes
        self.smallest = smallest
        self.largest = largest
        self.smallestSequence = smallestSequence
        self.largestSequence = largestSequence
        self.globalSequence = globalSequence
        self.smallestUserKey = Array(smallest.dropLast(InternalKey.trailerSize))
        self.largestUserKey = Array(largest.dropLast(InternalKey.trailerSize))
        self.allowedSeeks = Atomic(Int(max(100, min(fileSizeBytes / FileMetaData.bytesPerAllowedSeek, 1 << 30))))
    }

    package static func == (a: FileMetaData, b: FileMetaData) -> Bool {
        a.number == b.number && a.fileSizeBytes == b.fileSizeBytes && a.smallest == b.smallest
            && a.largest == b.largest && a.smallestSequence == b.smallestSequence
            && a.largestSequence == b.largestSequence && a.globalSequence == b.globalSequence
    }

    /// True when `userKey` lies in [smallestUserKey, largestUserKey].
    @inline(__always)
    func contains(userKey: UnsafeRawBufferPointer) -> Bool {
        smallestUserKey.withUnsafeBytes { compareBytes($0, userKey) <= 0 }
            && largestUserKey.withUnsafeBytes { compareBytes($0, userKey) >= 0 }
    }

    /// True when the user-key range of this file intersects [lower, upper];
    /// a nil bound is unbounded on that side.
    func overlaps(smallestUserKey lower: [UInt8]?, largestUserKey upper: [UInt8]?) -> Bool {
        if let lower, compareBytes(largestUserKey, lower) < 0 { return false }
        if let upper, compareBytes(smallestUserKey, upper) > 0 { return false }
        return true
    }

    package var description: String {
        "#\(number) (\(fileSizeBytes) B, seq \(smallestSequence)...\(largestSequence)"
            + (globalSequence == 0 ? ", " : " (ingested), ")
            + "keys \(FileMetaData.render(smallestUserKey))...\(FileMetaData.render(largestUserKey)))"
    }

    /// Printable bytes as-is, others as \xNN (for messages only).
    static func render(_ bytes: [UInt8]) -> String {
        var s = ""
        for b in bytes.prefix(64) {
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") {
                s.unicodeScalars.append(UnicodeScalar(b))
            } else {
                let hex = String(b, radix: 16)
                s += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return bytes.count > 64 ? s + "..." : s
    }
}
