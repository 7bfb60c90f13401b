import RingIO

/// Rebuilds the version set's state from one MANIFEST: every edit, in
/// order, applied to an empty version with full validation. Failures name
/// the MANIFEST and the offset of the record that broke.
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
        /// tolerated) or, with `strict: false`, corruption.
        package var droppedTail: (offset: UInt64, reason: String)?
    }

    package let path: String

    /// Reads and replays the MANIFEST at `path`. With `strict`, a bad record
    /// before the tail — failing its checksum, not decoding, or not
    /// applying — throws `DBError.corruption`; without it replay keeps the
    /// valid prefix and reports where it stopped.
    package static func run(path: String, backend: any IOBackend, strict: Bool) throws -> Result {
        let outcome = try LogReader(path: path, backend: backend).readAll(strict: strict, preallocated: false)
        return try ManifestReplay(path: path).replay(outcome, strict: strict)
    }

    func replay(_ outcome: LogReader.Outcome, strict: Bool) throws -> Result {
        var builder = VersionBuilder(base: .empty)
        var logNumber: UInt64?, nextFileNumber: UInt64?, lastSequence: SequenceNumber?
        var compactPointers = [[UInt8]?](repeating: nil, count: Version.numLevels)
        var dropped = outcome.tornTail.map { (UInt64($0.offset), $0.reason) }
        var recordOffset: UInt64 = 0
        var applied = 0
        for payload in outcome.payloads {
            do {
                let edit = try VersionEdit.decode(
                    payload, path: path, payloadOffset: recordOffset + UInt64(LogRecord.headerSize))
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
                guard !strict, case .corruption(_, let offset, let reason) = error else { throw error }
                dropped = (offset, reason)
                break
            }
            applied += 1
            recordOffset += UInt64(LogRecord.headerSize + payload.count)
        }
        let end = recordOffset
        guard applied > 0 else { throw corruption(at: end, "MANIFEST holds no valid record") }
        guard let logNumber, let nextFileNumber, let lastSequence else {
            throw corruption(at: end, "MANIFEST never records the log number, next file number and last sequence")
        }
        return Result(version: builder.build(), logNumber: logNumber, nextFileNumber: nextFileNumber,
                      lastSequence: lastSequence, compactPointers: compactPointers,
                      recordCount: applied, droppedTail: dropped)
    }

    private func corruption(at offset: UInt64, _ reason: String) -> DBError {
        .corruption(path: path, offset: offset, reason: reason)
    }
}
