import Glibc
import RingIO
import Testing
@testable import RingKV

/// Shared helpers of the Version tests.
enum VersionFixtures {
    /// Rewrites the database's MANIFEST as one with the same edits after
    /// `change` (an earlier build's records, say) under a new number,
    /// points CURRENT at it and removes the old one; returns its number.
    @discardableResult
    static func rewriteManifest(dbPath path: String, backend: any IOBackend,
                                _ change: (inout [VersionEdit]) throws -> Void) throws -> UInt64 {
        let current = try CurrentFile.read(dbPath: path, backend: backend)
        let reader = try LogReader(path: FileNames.manifest(path, current.number), backend: backend)
        var edits = try reader.readAll(evidence: .everyRecord, strict: true).payloads.map {
            try VersionEdit.decode($0, path: "m", payloadOffset: 0)
        }
        try change(&edits)
        let number = (edits.compactMap(\.nextFileNumber).max() ?? 100) + 1
        edits[0].nextFileNumber = number + 1
        let log = try ManifestLog.create(dbPath: path, number: number, snapshot: edits, backend: backend)
        try log.close()
        var switched = false
        try CurrentFile.write(dbPath: path, manifestNumber: number, backend: backend, switched: &switched)
        try backend.removeFile(FileNames.manifest(path, current.number))
        return number
    }

    static func key(_ s: String, _ sequence: UInt64 = 1, _ type: ValueType = .value) -> [UInt8] {
        InternalKey.make(Array(s.utf8), sequence, type)
    }

    /// A table covering user keys [low, high].
    static func file(_ number: UInt64, _ low: String, _ high: String, sizeBytes: UInt64 = 1000,
                     sequences: ClosedRange<UInt64> = 1...9) -> FileMetaData {
        FileMetaData(number: number, fileSizeBytes: sizeBytes, smallest: key(low, sequences.upperBound),
                     largest: key(high, sequences.lowerBound), smallestSequence: sequences.lowerBound,
                     largestSequence: sequences.upperBound)
    }

    /// An edit with every field set.
    static func fullEdit() -> VersionEdit {
        var edit = VersionEdit()
        edit.formatVersion = VersionEdit.currentFormatVersion
        edit.logNumber = 17
        edit.nextFileNumber = 300
        edit.lastSequence = 1 << 40
        edit.setCompactPointer(level: 1, internalKey: key("m", 5))
        edit.setCompactPointer(level: 6, internalKey: key("", 0, .deletion))
        edit.deleteFile(level: 0, number: 12)
        edit.deleteFile(level: 3, number: 200)
        edit.deleteFile(level: 1, number: 7)
        edit.addFile(level: 0, file(250, "a", "z", sizeBytes: 4 << 20, sequences: 100...200))
        edit.addFile(level: 2, file(251, "k\u{0}\u{ff}", "kz", sizeBytes: 1, sequences: 0...0))
        edit.addFile(level: 6, file(252, "x", "x", sizeBytes: FileMetaData.maxFileSizeBytes, sequences: 5...InternalKey.maxSequenceNumber))
        return edit
    }

    static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "ringkv-version")
        defer { try? FileSystem.removeTree(dir) }
        return try body(dir)
    }

    /// Writes MANIFEST-`number` holding `edits` as records and a CURRENT
    /// naming it, bypassing VersionSet (to build damaged histories).
    static func writeManifest(dir: String, number: UInt64, edits: [VersionEdit]) throws {
        var w = ByteWriter()
        for edit in edits { edit.encode().withUnsafeBytes { LogRecord.encode($0, into: &w) } }
        try writeFile(FileNames.manifest(dir, number), w.bytes)
        try writeFile(FileNames.current(dir), Array("MANIFEST-\(FileNames.padded(number))\n".utf8))
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws { try writeWholeFile(path, bytes) }

    static func readFile(_ path: String) throws -> [UInt8] { try readWholeFile(path) }

    /// Offsets of the records of a log file, in order.
    static func recordOffsets(_ path: String) throws -> [Int] {
        var offsets: [Int] = []
        try LogReader(path: path, backend: PosixBackend()).read(evidence: .everyRecord, strict: true) {
            offsets.append($0.offset)
        }
        return offsets
    }

    /// The seed of a randomized test: RINGKV_TEST_SEED when set, else random.
    static func seed() -> UInt64 {
        if let text = getenvString("RINGKV_TEST_SEED"), let seed = UInt64(text) { return seed }
        return UInt64.random(in: 0...UInt64.max)
    }

    private static func getenvString(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

/// A seeded generator so a failing run can be replayed.
typealias SeededGenerator = SplitMix64

/// The corruption case of a thrown error, or nil.
func corruptionDetails(_ error: any Error) -> (path: String, offset: UInt64, reason: String)? {
    if case DBError.corruption(let path, let offset, let reason) = error { return (path, offset, reason) }
    return nil
}
