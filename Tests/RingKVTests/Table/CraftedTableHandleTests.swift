import RingIO
import Testing
@testable import RingKV

/// A table file whose checksums are all valid but whose block handles
/// name sizes or offsets near 2^64 (a crafted file handed to `DB.ingest`
/// or `kvctl dump-sst`) is refused with `DBError.corruption`: the
/// handle's end (offset + size + 5-byte trailer) is never computed with
/// a trapping addition.
@Suite struct CraftedTableHandleTests {
    static func writeSource(_ path: String, backend: any IOBackend) throws {
        let entries = (0..<500).map { i in
            (key: InternalKey.make(TableTestSupport.userKey(i), UInt64(i + 1), .value), value: Array("value-\(i)".utf8))
        }
        try TableTestSupport.writeTable(path: path, entries: entries, backend: backend)
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let file = try File.open(path, .read)
        defer { try? file.close() }
        let size = Int(try file.size())
        var bytes = [UInt8](repeating: 0, count: size)
        _ = try bytes.withUnsafeMutableBytes { try PosixBackend().read(fd: file.fd, into: $0, offset: 0) }
        return bytes
    }

    static func writeAll(_ path: String, _ bytes: [UInt8]) throws {
        let file = try File.open(path, [.readWrite, .create, .truncate])
        defer { try? file.close() }
        try bytes.withUnsafeBytes { try PosixBackend().write(fd: file.fd, from: $0, offset: 0) }
    }

    /// The table at `path` rewritten: its blocks kept, `extraBlocks`
    /// appended as uncompressed blocks with valid trailers, then a footer
    /// made by `footer` from the old one and the new blocks' handles.
    static func rewrite(_ path: String, extraBlocks: [[UInt8]],
                        footer makeFooter: (TableFooter, [BlockHandle]) -> TableFooter) throws {
        let backend = PosixBackend()
        let old = try TableTestSupport.openTable(path: path, backend: backend).footer
        var bytes = try readAll(path)
        bytes.removeLast(bytes.count % 4096 == 0 ? TableFooter.sizeBytes : 0)
        var handles: [BlockHandle] = []
        for block in extraBlocks {
            handles.append(BlockHandle(offset: UInt64(bytes.count), size: UInt64(block.count)))
            bytes += block
            block.withUnsafeBytes { payload in
                BlockCodec.withTrailer(payload, .uncompressed) { bytes += Array($0) }
            }
        }
        while (bytes.count + TableFooter.sizeBytes) % 4096 != 0 { bytes.append(0) }
        bytes += makeFooter(old, handles).encode()
        try writeAll(path, bytes)
    }

    static func expectCorruption(_ body: () throws -> Void) {
        #expect {
            try body()
        } throws: { error in
            guard case DBError.corruption = error else { return false }
            return true
        }
    }

    @Test(arguments: ["index", "filter", "properties"])
    func footerHandleOfHugeSizeIsCorruption(_ which: String) throws {
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000011.sst"
            try Self.writeSource(path, backend: backend)
            try Self.rewrite(path, extraBlocks: []) { footer, _ in
                var footer = footer
                let huge = BlockHandle(offset: 0, size: UInt64.max - 1)
                switch which {
                case "index": footer.index = huge
                case "filter": footer.filter = huge
                default: footer.properties = huge
                }
                return footer
            }
            Self.expectCorruption { _ = try TableTestSupport.openTable(path: path, backend: backend) }
        }
    }

    @Test(arguments: ["rangeDeletion", "prefixFilter"])
    func propertiesHandleOfHugeSizeIsCorruption(_ which: String) throws {
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000012.sst"
            try Self.writeSource(path, backend: backend)
            var properties = try TableTestSupport.openTable(path: path, backend: backend).properties
            let huge = BlockHandle(offset: 0, size: UInt64.max - 1)
            if which == "rangeDeletion" {
                properties.rangeDeletionHandle = huge
                properties.rangeDeletionCount = 1
            } else {
                properties.prefixFilterHandle = huge
                properties.prefixLength = 2
            }
            try Self.rewrite(path, extraBlocks: [properties.encode()]) { footer, handles in
                var footer = footer
                footer.properties = handles[0]
                if which == "rangeDeletion" { footer.formatVersion = TableFooter.rangeDeletionFormatVersion }
                return footer
            }
            Self.expectCorruption { _ = try TableTestSupport.openTable(path: path, backend: backend) }
        }
    }

    /// An index whose entries name blocks at offsets near 2^64: reads,
    /// scans in both directions and a verify throw corruption.
    @Test func indexEntryNearTheEndOfTheOffsetSpaceIsCorruption() throws {
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000013.sst"
            try Self.writeSource(path, backend: backend)
            var index = BlockBuilder(restartInterval: 1)
            for (i, offset) in [UInt64.max - 2, UInt64.max - 1].enumerated() {
                var handle = ByteWriter(capacity: 20)
                BlockHandle(offset: offset, size: 10).appendVarint(to: &handle)
                let key = InternalKey.make(TableTestSupport.userKey(i * 499), 1, .value)
                key.withUnsafeBytes { k in handle.bytes.withUnsafeBytes { v in index.add(k, v) } }
            }
            let indexBytes = index.finish()
            try Self.rewrite(path, extraBlocks: [indexBytes]) { footer, handles in
                var footer = footer
                footer.index = handles[0]
                return footer
            }
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            Self.expectCorruption {
                _ = try reader.get(userKey: TableTestSupport.userKey(3), snapshot: InternalKey.maxSequenceNumber)
            }
            Self.expectCorruption { _ = try TableTestSupport.scan(reader.makeIterator()) }
            Self.expectCorruption {
                let it = reader.makeIterator()
                try it.seekToLast()
                while it.isValid { try it.prev() }
            }
            Self.expectCorruption { try reader.verifyChecksums() }
        }
    }
}
