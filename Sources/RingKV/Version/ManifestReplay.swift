import RingIO

/// Rebuilds the version set's state from one MANIFEST: every edit, in
/// order, applied to an empty version with full validation. Failures name
/// the MANIFEST and the offset of the record that broke. Records are
/// streamed (`LogReader`), never the whole file loaded.
package struct ManifestReplay {
    /// What the MANIFEST said, after its last valid record.
    package struct Result {
        package var version: Version
        package var logNumber: UInt64
        package var nextFileNumber: UInt64
        package var lastSequence: SequenceNumber
        package var compactPointers: [[UInt8]?]
        package var recordCount: Int
        /// Set when the end of the file was dropped: a torn tail (always
        /// tolerated: unsynced bytes of the last append) or, with
        /// `strict: false`, corruption.
        package var droppedTail: DroppedTail?
    }

    package let path: String
    private var builder = VersionBuilder(base: .empty)
    private var logNumber: UInt64?, nextFileNumber: UInt64?, lastSequence: SequenceNumber?
    private var compactPointers = [[UInt8]?](repeating: nil, count: Version.numLevels)
    private var applied = 0
    /// Where the record after the last applied one starts.
    private var appliedBytes: UInt64 = 0

    /// Thrown out of the reader's callback to stop at a bad edit when not
    /// strict; carries what was dropped.
    private struct Stop: Error {
        var offset: UInt64
        var reason: String
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
            let edit = try VersionEdit.decode(
                Array(payload), path: path, payloadOffset: recordOffset + UInt64(LogRecord.headerSize))
            if applied == 0 {
                guard let version = edit.formatVersion else {
                    throw corruption(at: recordOffset, "first record carries no format version (not a RingKV MANIFEST?)")
                }
                guard version <= VersionEdit.currentFormatVersion else {
                    throw corruption(at: recordOffset, "format version \(version) is newer than this build reads "
                                     + "(\(VersionEdit.currentFormatVersion))")
                }
            }
            do throws(VersionBuilder.Violation) {
                if strict {
                    try builder.apply(edit)  // a failure ends replay; the builder is dropped
                } else {
                    // The valid prefix must survive a failed edit, so it is
                    // applied to a copy (a copy of the level arrays per edit).
                    var trial = builder
                    try trial.apply(edit)
                    builder = trial
                }
            } catch {
                throw corruption(at: recordOffset, error.reason)
            }
            if let n = edit.logNumber { logNumber = n }
            if let n = edit.nextFileNumber { nextFileNumber = n }
            if let n = edit.lastSequence { lastSequence = n }
            for (level, key) in edit.compactPointers { compactPointers[level] = key }
        } catch let error as DBError {
            guard !strict, case .corruption(_, _, let reason) = error else { throw error }
            throw Stop(offset: recordOffset, reason: reason)
        }
        applied += 1
        appliedBytes = recordOffset + UInt64(LogRecord.headerSize + payload.count)
    }

    private func finish(dropped: DroppedTail?) throws -> Result {
        guard applied > 0 else { throw corruption(at: appliedBytes, "MANIFEST holds no valid record") }
        guard let logNumber, let nextFileNumber, let lastSequence else {
            throw corruption(at: appliedBytes, "MANIFEST never records the log number, next file number and last sequence")
        }
        return Result(version: builder.build(), logNumber: logNumber, nextFileNumber: nextFileNumber,
                      lastSequence: lastSequence, compactPointers: compactPointers,
                      recordCount: applied, droppedTail: dropped)
    }

    private func corruption(at offset: UInt64, _ reason: String) -> DBError {
        .corruption(path: path, offset: offset, reason: reason)
    }
}
