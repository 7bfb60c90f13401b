import Glibc
import RingIO
import Testing
@testable import RingKV

/// Shared helpers of the compaction tests.
enum CompactionFixtures {
    /// Options that make compaction happen often: tiny memtable, tiny output
    /// tables, a small L1.
    static func smallOptions(memtableBytes: Int = 32 << 10, targetFileBytes: UInt64 = 64 << 10,
                             l1Bytes: UInt64 = 256 << 10, multiplier: UInt64 = 4, jobs: Int = 2) -> Options {
        var options = openOptions(memtableBytes: memtableBytes)
        options.targetFileSizeBytes = targetFileBytes
        options.l1TargetSizeBytes = l1Bytes
        options.levelSizeMultiplier = multiplier
        options.l0CompactionTrigger = 4
        options.l0SlowdownTrigger = 8
        options.l0StopTrigger = 12
        options.backgroundJobs = jobs
        return options
    }

    /// A table covering user keys [low, high] (internal keys at sequence 1).
    static func file(_ number: UInt64, _ low: String, _ high: String, sizeBytes: UInt64 = 1000) -> FileMetaData {
        FileMetaData(number: number, fileSizeBytes: sizeBytes, smallest: InternalKey.make(Array(low.utf8), 9, .value),
                     largest: InternalKey.make(Array(high.utf8), 1, .value), smallestSequence: 1, largestSequence: 9)
    }

    /// A version with `files[level]` as given (L0 reordered newest first).
    static func version(_ files: [Int: [FileMetaData]]) throws -> Version {
        var edit = VersionEdit()
        for (level, list) in files { for f in list { edit.addFile(level: level, f) } }
        var builder = VersionBuilder(base: .empty)
        try builder.apply(edit)
        return builder.build()
    }

    /// Levels 1... are sorted and their user-key ranges do not touch.
    static func levelsDoNotOverlap(_ version: Version) -> Bool {
        for level in 1..<Version.numLevels {
            let files = version.files[level]
            for f in files where compareBytes(f.smallestUserKey, f.largestUserKey) > 0 { return false }
            for i in files.indices.dropFirst()
            where compareBytes(files[i - 1].largestUserKey, files[i].smallestUserKey) >= 0 {
                return false
            }
        }
        return true
    }

    /// Waits until nothing is flushing or compacting and no compaction is
    /// needed any more (at most `timeoutSeconds`). True when settled.
    @discardableResult
    static func waitForBackgroundWork(_ db: DB, timeoutSeconds: Double = 60) -> Bool {
        let impl = db.impl
        let deadline = MonotonicClock.nanos() + UInt64(timeoutSeconds * 1e9)
        while MonotonicClock.nanos() < deadline {
            let settled = impl.mu.withLock {
                impl.imm == nil && !impl.flushRunning && impl.compaction.isIdle
                    && CompactionPicker(options: impl.options).pick(
                        version: impl.versions.current,
                        compactPointers: (0..<Version.numLevels).map { impl.versions.compactPointer(level: $0) },
                        state: impl.compaction) == nil
            }
            if settled { return true }
            usleep(5_000)
        }
        return false
    }

    /// Table numbers of the `.sst` files in `dir`.
    static func tableFilesOnDisk(_ dir: String) throws -> Set<UInt64> {
        var numbers = Set<UInt64>()
        for name in try FileSystem.listDirectory(dir) {
            if let (kind, number) = FileNames.parse(name), kind == .table { numbers.insert(number) }
        }
        return numbers
    }

    /// Sum of the sizes of every file in `dir`.
    static func directoryBytes(_ dir: String) throws -> UInt64 {
        var total: UInt64 = 0
        for name in try FileSystem.listDirectory(dir) { total += try FileSystem.fileSize(dir + "/" + name) }
        return total
    }

    /// Entry and deletion counts over every table of the current version
    /// (of `keyspace`, nil: the default keyspace).
    static func tableEntryCounts(_ db: DB, keyspace: Keyspace? = nil) throws -> (entries: UInt64, deletions: UInt64) {
        let version = try keyspace.map { try #require(db.impl.versions.current(keyspace: $0.data.id)) }
            ?? db.impl.versions.current
        var entries: UInt64 = 0, deletions: UInt64 = 0
        for level in version.files {
            for f in level {
                let properties = try db.impl.tableCache.reader(for: f.number).properties
                entries += properties.entryCount
                deletions += properties.deletionCount
            }
        }
        return (entries, deletions)
    }

    /// Levels that hold at least one table.
    static func nonEmptyLevels(_ db: DB) -> [Int] {
        let version = db.impl.versions.current
        return (0..<Version.numLevels).filter { !version.files[$0].isEmpty }
    }
}

/// Key i as a fixed-width user key (so byte order is numeric order).
func compactionKey(_ i: Int) -> [UInt8] {
    let digits = String(i)
    return bytes("key" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits)
}
