import RingIO
import Testing
@testable import RingKV

/// A WAL file kept for feeds is not replayed at open, so nothing checked
/// its batches' sequences: a record there (checksum intact: crafted, or
/// damaged and re-framed) whose sequence runs past the 56-bit limit is
/// `DBError.corruption` naming the file — never a trap in the feed's
/// sequence arithmetic.
@Suite struct ChangeFeedDamagedSequenceTests {
    /// Rewrites the sequence of the first batch record of the log at
    /// `path` to `sequence`, its checksum made to match.
    static func setFirstSequence(ofLog path: String, to sequence: UInt64) throws {
        var bytes = try VersionFixtures.readFile(path)
        var offset: Int?
        let reader = LogReader(path: path, data: bytes)
        _ = try reader.read(evidence: .syncPoints, strict: false) { record in
            if offset == nil && !record.isSyncPoint { offset = record.offset }
        }
        let at = try #require(offset)
        let length = Int(UInt32(bytes[at + 4]) | UInt32(bytes[at + 5]) << 8 | UInt32(bytes[at + 6]) << 16
                         | UInt32(bytes[at + 7]) << 24)
        let payloadStart = at + LogRecord.headerSize
        withUnsafeBytes(of: sequence.littleEndian) { for i in 0..<8 { bytes[payloadStart + i] = $0[i] } }
        let crc = bytes[payloadStart..<(payloadStart + length)].withUnsafeBytes {
            LogRecord.maskedChecksum(type: LogRecord.typeFull, $0)
        }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[at + i] = $0[i] } }
        try VersionFixtures.writeFile(path, bytes)
    }

    @Test func aKeptLogWhoseBatchRunsPastTheLastSequenceIsCorruptionNotATrap() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var db = try DB(path: path, options: ReplicationFixtures.primaryOptions())
        for i in 0..<3 { try db.put(bytes("k\(i)"), bytes("v\(i)")) }
        try db.close()
        // The reopen moves to a new log; the old one is kept for feeds only
        // and the new one stays empty.
        db = try DB(path: path, options: ReplicationFixtures.primaryOptions())
        try db.close()
        let logs = try FileSystem.listDirectory(path).compactMap { FileNames.parse($0) }
            .filter { $0.kind == .log }.map(\.number).sorted()
        #expect(logs.count == 2)
        try Self.setFirstSequence(ofLog: FileNames.log(path, try #require(logs.first)), to: UInt64.max)

        var options = ReplicationFixtures.primaryOptions()
        options.readOnly = true
        let readOnly = try DB(path: path, options: options)
        defer { try? readOnly.close() }
        let error = try #require(throws: DBError.self) {
            try readOnly.changesBacklog(since: UInt64.max - 1, maxBatches: 10)
        }
        guard case .corruption(let file, _, _) = error else { Issue.record("\(error)"); return }
        #expect(file == FileNames.log(path, try #require(logs.first)))
    }
}

extension ChangeFeedDamagedSequenceTests {
    /// A batch whose first sequence is the last one there is, but which
    /// holds two operations: its second runs past 56 bits. Refused when it
    /// is decoded (its first sequence alone is in range).
    @Test func aKeptBatchEndingPastTheLastSequenceIsCorruption() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var db = try DB(path: path, options: ReplicationFixtures.primaryOptions())
        var batch = WriteBatch()
        batch.put(bytes("a"), bytes("1"))
        batch.put(bytes("b"), bytes("2"))
        try db.write(batch)
        try db.close()
        db = try DB(path: path, options: ReplicationFixtures.primaryOptions())
        try db.close()
        let logs = try FileSystem.listDirectory(path).compactMap { FileNames.parse($0) }
            .filter { $0.kind == .log }.map(\.number).sorted()
        let kept = FileNames.log(path, try #require(logs.first))
        try Self.setFirstSequence(ofLog: kept, to: InternalKey.maxSequenceNumber)

        var options = ReplicationFixtures.primaryOptions()
        options.readOnly = true
        let readOnly = try DB(path: path, options: options)
        defer { try? readOnly.close() }
        let error = try #require(throws: DBError.self) {
            try readOnly.changesBacklog(since: InternalKey.maxSequenceNumber - 1, maxBatches: 10)
        }
        guard case .corruption(let file, _, let reason) = error else { Issue.record("\(error)"); return }
        #expect(file == kept && reason.contains("outside"), "\(error)")
    }
}
