import Testing
import RingIO
@testable import RingKV

@Suite struct TableCorruptionTests {
    static func entries(_ count: Int) -> [(key: [UInt8], value: [UInt8])] {
        (0..<count).map { i in
            (InternalKey.make(TableTestSupport.userKey(i), UInt64(i + 1), .value), Array("value-\(i)-\(i * 7919)".utf8))
        }
    }

    static func expectCorruption(at expectedPath: String, offset expectedOffset: UInt64? = nil,
                                 _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("damage went unnoticed")
        } catch DBError.corruption(let path, let offset, let reason) {
            #expect(path == expectedPath, "\(reason)")
            if let expectedOffset { #expect(offset == expectedOffset, "\(reason)") }
        } catch {
            Issue.record("expected a corruption error, got \(error)")
        }
    }

    @Test func flippedByteInADataBlockFailsGetAndVerifyWithThePath() throws {
        let entries = Self.entries(5_000)
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            for compression in [BlockCompression.lz4, .uncompressed] {
                var options = TableBuilderOptions()
                options.compression = compression
                let path = dir + "/000009.sst"
                try TableTestSupport.writeTable(path: path, entries: entries, backend: backend, options: options)

                // Find the third data block and the keys stored in it.
                let clean = try TableTestSupport.openTable(path: path, backend: backend)
                var victim: BlockHandle?
                var keysInVictim: [Int] = []
                var keysElsewhere: [Int] = []
                var seen: [BlockHandle] = []
                let it = clean.makeIterator()
                try it.seekToFirst()
                var i = 0
                while it.isValid {
                    let h = it.currentBlockHandle!
                    if seen.last != h { seen.append(h) }
                    if seen.count == 3 { victim = h; keysInVictim.append(i) } else { keysElsewhere.append(i) }
                    try it.next()
                    i += 1
                }
                let handle = try #require(victim)
                try TableTestSupport.flipByte(path: path, at: handle.offset + handle.size / 2)

                let reader = try TableTestSupport.openTable(path: path, backend: backend)
                for k in keysInVictim.prefix(5) {
                    Self.expectCorruption(at: path, offset: handle.offset) {
                        _ = try reader.get(userKey: TableTestSupport.userKey(k), snapshot: InternalKey.maxSequenceNumber)
                    }
                }
                for k in keysElsewhere.prefix(50) {
                    let got = try reader.get(userKey: TableTestSupport.userKey(k), snapshot: InternalKey.maxSequenceNumber)
                    #expect(got == .found(entries[k].value))
                }
                Self.expectCorruption(at: path, offset: handle.offset) { try reader.verifyChecksums() }
                Self.expectCorruption(at: path, offset: handle.offset) { _ = try TableTestSupport.scan(reader.makeIterator()) }
            }
        }
    }

    @Test func damagedMetaBlocksAndFooterFailOpen() throws {
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000010.sst"
            try TableTestSupport.writeTable(path: path, entries: Self.entries(2_000), backend: backend)
            let footer = try TableTestSupport.openTable(path: path, backend: backend).footer
            let size = try FileSystem.fileSize(path)
            let positions: [UInt64] = [
                footer.index.offset + 3, footer.filter!.offset + 1, footer.properties.offset + 2,
                size - 64 + 5,   // an index handle byte: footer CRC
                size - 4,        // magic
                size - 64 + 49,  // format version
            ]
            for position in positions {
                try TableTestSupport.writeTable(path: path, entries: Self.entries(2_000), backend: backend)
                try TableTestSupport.flipByte(path: path, at: position)
                Self.expectCorruption(at: path) { _ = try TableTestSupport.openTable(path: path, backend: backend) }
            }
        }
    }

    @Test func truncatedFileFailsOpenWithAClearError() throws {
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000011.sst"
            let props = try TableTestSupport.writeTable(path: path, entries: Self.entries(3_000), backend: backend)
            for newSize in [props.fileSizeBytes - 4096, props.fileSizeBytes - 1, props.fileSizeBytes - 100, 4096, 63, 0] {
                try TableTestSupport.writeTable(path: path, entries: Self.entries(3_000), backend: backend)
                let f = try File.open(path, .readWrite)
                try f.truncate(to: newSize)
                try f.close()
                do {
                    _ = try TableTestSupport.openTable(path: path, backend: backend)
                    Issue.record("open of a table truncated to \(newSize) bytes succeeded")
                } catch DBError.corruption(let p, _, let reason) {
                    #expect(p == path)
                    #expect(reason.contains("truncated"), "reason should say the file may be truncated: \(reason)")
                }
            }
        }
    }

    @Test func indexHandlePointingPastTheDataIsCorruption() throws {
        // A forged index entry is caught by the range check, not by a read past the file.
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000012.sst"
            try TableTestSupport.writeTable(path: path, entries: Self.entries(100), backend: backend)
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            Self.expectCorruption(at: path) {
                _ = try reader.readBlocks([BlockHandle(offset: reader.dataEndOffset - 3, size: 100)])
            }
            Self.expectCorruption(at: path) {
                _ = try reader.readBlocks([BlockHandle(offset: UInt64.max - 2, size: 10)])
            }
        }
    }
}
