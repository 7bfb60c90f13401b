import RingIO

/// Rebuilds the version set's state from one MANIFEST: every edit, in
/// order, applied to an empty version with full validation. Failures name
/// the MANIFEST and the offset of the record that broke. Records are
/// streamed (`LogReader`), never the whole file loaded.
package struct ManifestReplay {
    /// What the MANIFEST said, after its last valid record.
    package struct Result {
        /// Every live keyspace: its version, log number, compact pointers.
        var catalog: KeyspaceCatalog<Version>
        /// The database's log number: the smallest keyspace log number.
        package var logNumber: UInt64
        package var nextFileNumber: UInt64
        package var lastSequence: SequenceNumber
        /// The format version of the MANIFEST's first record.
        package var formatVersion: UInt64
        package var recordCount: Int
        /// Set when the end of the file was dropped: a torn tail (always
        /// tolerated: unsynced bytes of the last append) or, with
        /// `strict: false`, corruption.
        package var droppedTail: DroppedTail?
        /// The dropped keyspaces the snapshot records carried (dropped
        /// before the open that wrote this MANIFEST); the others in
        /// `catalog.dropped` were dropped after it.
        var droppedInSnapshot: Set<UInt32> = []

        /// The default keyspace's version.
        package var version: Version { catalog[0]?.files ?? .empty }
        /// The default keyspace's compact pointers.
        var compactPointers: [[UInt8]?] { catalog[0]?.compactPointers ?? [] }
        /// Every live keyspace's name and version, "default" first.
        package var keyspaceVersions: [(name: String, version: Version)] {
            catalog.entries.map { ($0.record.name, $0.files) }
        }
    }

    package let path: String
    /// One `VersionBuilder` per live keyspace, kept across edits.
    private var catalog = KeyspaceCatalog<VersionBuilder>(defaultFiles: VersionBuilder(base: .empty))
    private var logNumber: UInt64?, nextFileNumber: UInt64?, lastSequence: SequenceNumber?
    private var formatVersion: UInt64 = 0
    private var applied = 0
    /// How many records the snapshot takes (tag 14 of the first record);
    /// nil for a MANIFEST written before the field.
    private var snapshotRecordCount: UInt64?
    /// Where the record after the last applied one starts.
    private var appliedBytes: UInt64 = 0
    private var droppedInSnapshot: Set<UInt32> = []

    /// Thrown out of the reader's callback to stop at a bad edit when not
    /// strict; carries what was dropped.
    private struct Stop: Error {
        var offset: UInt64
        var reason: String
    }

    /// Thrown out of the reader's callback for what must refuse the open
    /// in every mode (not dropped as a bad suffix without `strict`).
    private struct Refusal: Error {
        var error: DBError
    }

    init(path: String) { self.path = path }

    /// Reads and replays the MANIFEST at `path`. With `strict`, a bad record
    /// before the tail — failing its checksum, not decoding, or not
    /// applying — throws `DBError.corruption`; without it replay keeps the
    /// valid prefix and reports where it stopped.
    package static func run(path: String, backend: any IOBackend, strict: Bool) throws -> Result {
        let reader = try LogReader(path: path, backend: backend)
        var replay = ManifestReplay(path: path)
        var dropped: DroppedTail?
        do {
            // Each MANIFEST record was fsynced before the next was appended:
            // a valid record after damage proves the damage is no torn append.
            let ending = try reader.read(evidence: .everyRecord, strict: strict) { record in
                guard !record.isSyncPoint else {
                    throw Stop(offset: UInt64(record.offset), reason: "sync point record in a MANIFEST")
                }
                try replay.apply(record.payload, at: UInt64(record.offset), strict: strict)
            }
            dropped = ending.dropped
        } catch let refusal as Refusal {
            throw refusal.error
        } catch let stop as Stop {
            if strict { throw DBError.corruption(path: path, offset: stop.offset, reason: stop.reason) }
            dropped = DroppedTail(offset: replay.appliedBytes, endOffset: UInt64(reader.sizeBytes),
                                  reason: stop.reason, isCorruption: true)
        }
        return try replay.finish(dropped: dropped)
    }

    /// Decodes and applies one edit. Without `strict`, a failing edit throws
    /// `Stop` and leaves the state of the edits before it.
    private mutating func apply(_ payload: UnsafeRawBufferPointer, at recordOffset: UInt64, strict: Bool) throws {
        do {
            var edit = try VersionEdit.decode(
                Array(payload), path: path, payloadOffset: recordOffset + UInt64(LogRecord.headerSize))
            if applied == 0 {
                guard let version = edit.formatVersion else {
                    throw corruption(at: recordOffset, "first record carries no format version (not a RingKV MANIFEST?)")
                }
                guard version <= VersionEdit.currentFormatVersion else {
                    throw corruption(at: recordOffset, "format version \(version) is newer than this build reads "
                                     + "(\(VersionEdit.currentFormatVersion))")
                }
                formatVersion = version
                snapshotRecordCount = edit.snapshotRecordCount
            } else if edit.snapshotRecordCount != nil {
                throw corruption(at: recordOffset, "snapshot record count in a record other than the first")
            }
            if formatVersion < 5 && (edit.hasKeyspaceFields || edit.snapshotRecordCount != nil) {
                throw corruption(at: recordOffset, "keyspace fields in a MANIFEST of format version \(formatVersion)")
            }
            if formatVersion < 6 && edit.newFiles.contains(where: { $0.file.globalSequence != 0 }) {
                throw corruption(at: recordOffset, "ingested table (tag 13) in a MANIFEST of format version \(formatVersion)")
            }
            // Before format 5 the database's log number was the default
            // keyspace's; from 5 on it is the minimum over keyspaces and
            // each keyspace's own comes in tag 12.
            if formatVersion < 5, let n = edit.logNumber { edit.keyspaceLogNumbers = [(0, n)] }
            do throws(VersionBuilder.Violation) {
                let apply = { (catalog: inout KeyspaceCatalog<VersionBuilder>) throws(VersionBuilder.Violation) in
                    try catalog.apply(edit, monotonicLogNumbers: false, emptyFiles: { VersionBuilder(base: .empty) },
                                      applyFiles: { (builder) throws(VersionBuilder.Violation) in try builder.apply(edit) })
                }
                if strict {
                    try apply(&catalog)  // a failure ends replay; the catalog is dropped
                } else {
                    // The valid prefix must survive a failed edit, so it is
                    // applied to a copy (a copy of the level arrays per edit).
                    var trial = catalog
                    try apply(&trial)
                    catalog = trial
                }
            } catch {
                throw corruption(at: recordOffset, error.reason)
            }
            if let count = snapshotRecordCount, UInt64(applied) < count {
                droppedInSnapshot.formUnion(edit.droppedKeyspaces)
            }
            if let n = edit.logNumber { logNumber = n }
            if let n = edit.nextFileNumber { nextFileNumber = n }
            if let n = edit.lastSequence { lastSequence = n }
        } catch let error as DBError {
            guard !strict, case .corruption(_, _, let reason) = error else { throw error }
            throw Stop(offset: recordOffset, reason: reason)
        }
        applied += 1
        appliedBytes = recordOffset + UInt64(LogRecord.headerSize + payload.count)
    }

    private func finish(dropped: DroppedTail?) throws -> Result {
        guard applied > 0 else { throw corruption(at: appliedBytes, "MANIFEST holds no valid record") }
        // The snapshot was written with one write and one fsync before
        // CURRENT named the MANIFEST: a part of it missing is damage, not a
        // torn append, and its prefix would forget whole keyspaces (their
        // tables swept, their WAL records skipped). Refused in every mode.
        if let snapshotRecordCount, UInt64(applied) < snapshotRecordCount {
            let reason = dropped.map { ": \($0.reason)" } ?? ""
            throw corruption(at: appliedBytes, "the snapshot takes \(snapshotRecordCount) records but only \(applied) "
                             + "are valid\(reason)")
        }
        guard let logNumber, let nextFileNumber, let lastSequence else {
            throw corruption(at: appliedBytes, "MANIFEST never records the log number, next file number and last sequence")
        }
        var built = catalog.mapFiles { $0.build() }
        // Table numbers are global: one table in two keyspaces is damage.
        var seen = Set<UInt64>()
        for entry in built.entries {
            for level in entry.files.files { for f in level where !seen.insert(f.number).inserted {
                throw corruption(at: appliedBytes, "table \(f.number) belongs to two keyspaces")
            } }
        }
        built.fillLogNumbers(logNumber)
        return Result(catalog: built, logNumber: built.minLogNumber ?? logNumber, nextFileNumber: nextFileNumber,
                      lastSequence: lastSequence, formatVersion: formatVersion,
                      recordCount: applied, droppedTail: dropped, droppedInSnapshot: droppedInSnapshot)
    }

    private func corruption(at offset: UInt64, _ reason: String) -> DBError {
        .corruption(path: path, offset: offset, reason: reason)
    }
}
