import Testing
@testable import RingKV

@Suite struct VersionEditTests {
    typealias F = VersionFixtures

    @Test func everyFieldSurvivesEncodeDecode() throws {
        let edit = F.fullEdit()
        let decoded = try VersionEdit.decode(edit.encode(), path: "m", payloadOffset: 0)
        #expect(decoded == edit)
        #expect(decoded.newFiles[1].file.smallestUserKey == Array("k\u{0}\u{ff}".utf8))
        #expect(decoded.newFiles[2].file.fileSizeBytes == FileMetaData.maxFileSizeBytes)
    }

    /// The example in docs/FORMAT.md §Version edit payload.
    @Test func documentedExampleEncodesByteForByte() {
        var edit = VersionEdit()
        edit.logNumber = 5
        edit.nextFileNumber = 9
        edit.addFile(level: 0, FileMetaData(number: 7, fileSizeBytes: 4096, smallest: F.key("a", 3), largest: F.key("b", 1),
                                            smallestSequence: 1, largestSequence: 3))
        let expected: [UInt8] = [
            0x02, 0x05, 0x03, 0x09, 0x07, 0x00, 0x07, 0x80, 0x20,
            0x09, 0x61, 0x01, 0x03, 0, 0, 0, 0, 0, 0,
            0x09, 0x62, 0x01, 0x01, 0, 0, 0, 0, 0, 0,
            0x01, 0x03,
        ]
        #expect(edit.encode() == expected)
    }

    @Test func emptyEditRoundTrips() throws {
        let edit = VersionEdit()
        #expect(edit.encode().isEmpty)
        #expect(try VersionEdit.decode([], path: "m", payloadOffset: 0) == edit)
    }

    @Test func equalEditsEncodeToEqualBytes() {
        var a = VersionEdit(), b = VersionEdit()
        for n in [5, 1, 9, 3] as [UInt64] { a.deleteFile(level: 1, number: n) }
        for n in [9, 3, 1, 5] as [UInt64] { b.deleteFile(level: 1, number: n) }
        #expect(a.encode() == b.encode())
    }

    @Test func unknownTagIsCorruptionWithOffset() throws {
        var payload = F.fullEdit().encode()
        let goodLength = payload.count
        payload.append(99)
        let error = try #require(throws: DBError.self) {
            try VersionEdit.decode(payload, path: "/db/MANIFEST-000004", payloadOffset: 100)
        }
        let details = try #require(corruptionDetails(error))
        #expect(details.path == "/db/MANIFEST-000004")
        #expect(details.offset == 100 + UInt64(goodLength))
        #expect(details.reason.contains("unknown tag 99"))
    }

    @Test func zeroTagIsCorruption() {
        #expect(throws: DBError.self) { try VersionEdit.decode([0, 0, 0], path: "m", payloadOffset: 0) }
    }

    @Test func badFieldValuesAreCorruption() {
        var w = ByteWriter()
        // Level 7 does not exist.
        w.appendVarint(VersionEdit.Tag.deletedFile.rawValue); w.appendVarint(7); w.appendVarint(1)
        #expect(throws: DBError.self) { try VersionEdit.decode(w.bytes, path: "m", payloadOffset: 0) }

        // A key shorter than an internal-key trailer.
        w = ByteWriter()
        w.appendVarint(VersionEdit.Tag.compactPointer.rawValue); w.appendVarint(1); w.appendLengthPrefixed([1, 2, 3])
        #expect(throws: DBError.self) { try VersionEdit.decode(w.bytes, path: "m", payloadOffset: 0) }

        // Smallest key after largest key.
        w = ByteWriter()
        w.appendVarint(VersionEdit.Tag.newFile.rawValue); w.appendVarint(1); w.appendVarint(5); w.appendVarint(10)
        w.appendLengthPrefixed(F.key("z")); w.appendLengthPrefixed(F.key("a")); w.appendVarint(1); w.appendVarint(1)
        #expect(throws: DBError.self) { try VersionEdit.decode(w.bytes, path: "m", payloadOffset: 0) }

        // The same scalar field twice.
        w = ByteWriter()
        w.appendVarint(VersionEdit.Tag.logNumber.rawValue); w.appendVarint(1)
        w.appendVarint(VersionEdit.Tag.logNumber.rawValue); w.appendVarint(2)
        #expect(throws: DBError.self) { try VersionEdit.decode(w.bytes, path: "m", payloadOffset: 0) }

        // A key length far past the end of the payload.
        w = ByteWriter()
        w.appendVarint(VersionEdit.Tag.compactPointer.rawValue); w.appendVarint(1); w.appendVarint(UInt64.max)
        #expect(throws: DBError.self) { try VersionEdit.decode(w.bytes, path: "m", payloadOffset: 0) }
    }

    /// A prefix either fails as corruption or ends on a field boundary, in
    /// which case it decodes to an edit that encodes back to exactly the
    /// prefix.
    @Test func everyTruncationIsCorruptionOrAFieldBoundary() throws {
        let payload = F.fullEdit().encode()
        var boundaries = 0
        for length in 0..<payload.count {
            let prefix = Array(payload.prefix(length))
            do {
                let edit = try VersionEdit.decode(prefix, path: "m", payloadOffset: 0)
                #expect(edit.encode() == prefix, "prefix of \(length) bytes")
                boundaries += 1
            } catch {
                let details = try #require(corruptionDetails(error), "prefix of \(length) bytes: \(error)")
                #expect(details.offset <= UInt64(length), "prefix of \(length) bytes")
            }
        }
        // Empty prefix plus one boundary after each of the 4 scalars, 2
        // pointers, 3 deletions (the last file is the full payload).
        #expect(boundaries == 1 + 4 + 2 + 3 + 2)
    }

    @Test func randomByteFlipsNeverCrash() throws {
        let seed = F.seed()
        var rng = SeededGenerator(seed: seed)
        let payload = F.fullEdit().encode()
        var rejected = 0
        for _ in 0..<5000 {
            var damaged = payload
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<damaged.count, using: &rng)
                damaged[i] ^= UInt8.random(in: 1...255, using: &rng)
            }
            do {
                let edit = try VersionEdit.decode(damaged, path: "m", payloadOffset: 0)
                _ = edit.encode()
            } catch {
                #expect(corruptionDetails(error) != nil, "seed \(seed): \(error)")
                rejected += 1
            }
        }
        #expect(rejected > 0, "seed \(seed)")
    }

    @Test func randomGarbageNeverCrashes() {
        let seed = F.seed()
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<5000 {
            let garbage = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            do {
                _ = try VersionEdit.decode(garbage, path: "m", payloadOffset: 0)
            } catch {
                #expect(corruptionDetails(error) != nil, "seed \(seed): \(error)")
            }
        }
    }
}
