import Testing
@testable import RingKV

/// A MANIFEST may name tables of at most 1 TiB (`FileMetaData.maxFileSizeBytes`):
/// a larger size is damage, refused when decoded, so the sums of table
/// sizes an open computes (level sizes, compaction inputs) cannot overflow
/// and trap. Writers stay below it: compaction targets at most 256 GiB.
@Suite struct TableSizeLimitTests {
    typealias F = VersionFixtures

    static func edit(size: UInt64) -> [UInt8] {
        var edit = VersionEdit()
        edit.addFile(level: 1, F.file(9, "a", "b", sizeBytes: size, sequences: 1...2))
        return edit.encode()
    }

    @Test func aTableSizePastTheLimitIsCorruption() throws {
        #expect(try VersionEdit.decode(Self.edit(size: FileMetaData.maxFileSizeBytes), path: "m", payloadOffset: 0)
                    .newFiles.count == 1)
        for size in [FileMetaData.maxFileSizeBytes + 1, UInt64.max] {
            let error = try #require(throws: DBError.self) {
                try VersionEdit.decode(Self.edit(size: size), path: "/db/MANIFEST-000002", payloadOffset: 40)
            }
            let details = try #require(corruptionDetails(error))
            #expect(details.path == "/db/MANIFEST-000002")
            #expect(details.reason.contains("1 TiB"), "\(details.reason)")
        }
    }

    @Test func compactionTargetsAboveTheirLimitAreRefused() throws {
        let dir = try TempDir("ringkv-target-size")
        var options = Options()
        options.createIfMissing = true
        options.targetFileSizeBytes = Options.maxTargetFileSizeBytes + 1
        #expect(throws: DBError.self) { try DB(path: dir.sub("db"), options: options) }
        options.targetFileSizeBytes = Options.maxTargetFileSizeBytes
        let db = try DB(path: dir.sub("db"), options: options)
        try db.close()
    }
}
