import Glibc
import RingIO
import Testing
@testable import RingKV

/// A table builder stops trying LZ4 on data blocks after a run of blocks
/// it could not shrink, probing one block in 16, and compresses again once
/// a probe succeeds.
@Suite struct TableCompressionSkipTests {
    /// How each data block of the table at `path` is stored (its trailer's
    /// type byte), in file order.
    private func storedTypes(_ path: String, backend: any IOBackend) throws -> [UInt8] {
        let reader = try TableTestSupport.openTable(path: path, backend: backend)
        let file = try File.open(path, .read, direct: .off)
        defer { try? file.close() }
        let index = reader.indexBlock.makeIterator()
        var types: [UInt8] = []
        try index.seekToFirst()
        while index.isValid {
            let handle = try BlockHandle.decodeVarint(index.value)
            var type: UInt8 = 0
            let n = withUnsafeMutableBytes(of: &type) { pread(file.fd, $0.baseAddress, 1, off_t(handle.offset + handle.size)) }
            #expect(n == 1)
            types.append(type)
            try index.next()
        }
        return types
    }

    private func entries(_ range: Range<Int>, value: (Int) -> [UInt8]) -> [(key: [UInt8], value: [UInt8])] {
        range.map { (InternalKey.make(TableTestSupport.userKey($0), 1, .value), value($0)) }
    }

    @Test func incompressibleRunsStopTheAttemptsUntilAProbeCompresses() throws {
        let backend = try TableTestSupport.makeBackend()
        var rng = TableTestRNG()
        // Random 1000-byte values, then zeros: 80 blocks of each (five
        // entries per 4 KiB block).
        let random = entries(0..<400) { _ in rng.bytes(1000) }
        let zeros = entries(400..<800) { _ in [UInt8](repeating: 0, count: 1000) }
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000009.sst"
            try TableTestSupport.writeTable(path: path, entries: random + zeros, backend: backend)
            let types = try storedTypes(path, backend: backend)
            // Every block holds the same number of entries, which divides
            // 400: the halves do not share a block.
            try #require(800 % types.count == 0 && 400 % (800 / types.count) == 0, "\(types.count) data blocks")
            let half = types.count / 2
            let randomPart = types[..<half], zeroPart = types[half...]
            #expect(randomPart.allSatisfy { $0 == BlockCompression.uncompressed.rawValue })
            // Zeros right after the run are stored as they come until a probe
            // (at most 16 blocks on) compresses; from then on all compress.
            let skipped = zeroPart.prefix { $0 == BlockCompression.uncompressed.rawValue }.count
            #expect(skipped >= 1 && skipped < TableBuilder.incompressibleProbeInterval, "\(skipped) skipped")
            #expect(zeroPart.dropFirst(skipped + 1).allSatisfy { $0 == BlockCompression.lz4.rawValue })
            // Everything reads back.
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            let all = try TableTestSupport.scan(reader.makeIterator())
            #expect(all.map(\.key) == (random + zeros).map(\.key))
            #expect(all.map(\.value) == (random + zeros).map(\.value))
        }
    }

    @Test func compressibleDataIsCompressedFromTheFirstBlock() throws {
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000010.sst"
            try TableTestSupport.writeTable(path: path, entries: entries(0..<400) { _ in [UInt8](repeating: 7, count: 1000) },
                                            backend: backend)
            let types = try storedTypes(path, backend: backend)
            #expect(types.count > 50)
            #expect(types.allSatisfy { $0 == BlockCompression.lz4.rawValue })
        }
    }
}
