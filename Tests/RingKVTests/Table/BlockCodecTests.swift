import Testing
@testable import RingKV

@Suite struct BlockCodecTests {
    /// Encodes contents the way the table builder stores them: payload ++ trailer.
    static func store(_ contents: [UInt8], _ compression: BlockCompression) -> (stored: [UInt8], type: BlockCompression) {
        var scratch: [UInt8] = []
        return contents.withUnsafeBytes { raw in
            BlockCodec.encode(raw, compression: compression, scratch: &scratch) { payload, type in
                var out = Array(payload)
                BlockCodec.withTrailer(payload, type) { out.append(contentsOf: $0) }
                return (out, type)
            }
        }
    }

    static func blockContents(valueOf: (Int) -> [UInt8]) -> [UInt8] {
        var b = BlockBuilder(restartInterval: 16)
        for i in 0..<100 {
            let key = InternalKey.make(TableTestSupport.userKey(i), 1, .value)
            let value = valueOf(i)
            key.withUnsafeBytes { k in value.withUnsafeBytes { v in b.add(k, v) } }
        }
        return b.finish()
    }

    @Test func compressibleBlockIsStoredAsLZ4AndDecodesToTheSameBytes() throws {
        let contents = Self.blockContents { _ in [UInt8](repeating: 0x61, count: 100) }
        let (stored, type) = Self.store(contents, .lz4)
        #expect(type == .lz4)
        #expect(stored.count < contents.count / 2)
        let block = try stored.withUnsafeBytes { try BlockCodec.decode($0, path: "t.sst", offset: 0) }
        #expect(Array(block.contents) == contents)
    }

    @Test func randomBlockIsStoredRawBecauseLZ4WouldNotSaveAnEighth() throws {
        var rng = TableTestRNG()
        let contents = Self.blockContents { _ in rng.bytes(100) }
        let (stored, type) = Self.store(contents, .lz4)
        #expect(type == .uncompressed, "seed \(rng.seed)")
        #expect(stored.count == contents.count + BlockCodec.trailerSizeBytes)
        let block = try stored.withUnsafeBytes { try BlockCodec.decode($0, path: "t.sst", offset: 0) }
        #expect(Array(block.contents) == contents)
    }

    @Test func compressionOffStoresRaw() {
        let contents = Self.blockContents { _ in [UInt8](repeating: 0x61, count: 100) }
        #expect(Self.store(contents, .uncompressed).type == .uncompressed)
    }

    @Test func twelveAndAHalfPercentRule() {
        #expect(BlockCodec.isWorthCompressing(rawBytes: 800, compressedBytes: 700))
        #expect(!BlockCodec.isWorthCompressing(rawBytes: 800, compressedBytes: 701))
    }

    @Test func anyFlippedByteFailsTheChecksumWithPathAndOffset() {
        let contents = Self.blockContents { i in Array("v\(i)".utf8) }
        for compression in [BlockCompression.lz4, .uncompressed] {
            let (good, _) = Self.store(contents, compression)
            for position in stride(from: 0, to: good.count, by: 13) {
                var bad = good
                bad[position] ^= 0x01
                do {
                    _ = try bad.withUnsafeBytes { try BlockCodec.decode($0, path: "/x/000042.sst", offset: 8192) }
                    Issue.record("damage at \(position) went unnoticed")
                } catch DBError.corruption(let path, let offset, _) {
                    #expect(path == "/x/000042.sst" && offset == 8192)
                } catch {
                    Issue.record("unexpected \(error)")
                }
            }
        }
    }

    @Test func lz4PayloadThatDoesNotDecompressIsCorruption() {
        // A valid CRC over garbage: the damage happened before the checksum was taken.
        var payload: [UInt8] = []
        var w = ByteWriter()
        w.appendVarint(4096)
        payload = w.bytes + [0xff, 0xff, 0xff, 0x00, 0x12]
        var stored = payload
        payload.withUnsafeBytes { p in BlockCodec.withTrailer(p, .lz4) { stored.append(contentsOf: $0) } }
        #expect(throws: DBError.self) {
            _ = try stored.withUnsafeBytes { try BlockCodec.decode($0, path: "t.sst", offset: 0) }
        }
    }
}
