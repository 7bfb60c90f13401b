import Testing
@testable import RingKV

@Suite struct EncodingTests {
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(bytes("123456789")) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    /// The hardware path (three interleaved streams joined by shift
    /// tables, for buffers of 768 bytes and more) against a bitwise
    /// reference, at every length around the stream boundaries, from
    /// unaligned starts and with chained seeds.
    @Test func crc32cMatchesABitwiseReferenceAtEveryLengthAndOffset() {
        func reference(_ seed: UInt32, _ bytes: ArraySlice<UInt8>) -> UInt32 {
            var c = ~seed
            for b in bytes {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            return ~c
        }
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let data = (0..<13_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var lengths = Array(0..<40) + [767, 768, 769, 775, 776, 1536, 2303, 2304, 3071, 3072, 3073, 3080, 3839,
                                       3840, 4096, 4101, 6144, 9216, 9999, 12_345]
        for _ in 0..<40 { lengths.append(Int(rng.next() % 12_900)) }
        for length in lengths {
            for offset in [0, 1, 3, 7] where offset + length <= data.count {
                let slice = data[offset..<(offset + length)]
                let crcSeed = UInt32(truncatingIfNeeded: rng.next())
                let got = slice.withUnsafeBytes { CRC32C.checksum($0, seed: crcSeed) }
                #expect(got == reference(crcSeed, slice), "length \(length) offset \(offset) seed \(seed)")
            }
        }
    }

    @Test func crcMaskRoundTrips() {
        for crc: UInt32 in [0, 1, 0xE306_9283, .max] {
            #expect(CRC32C.unmask(CRC32C.mask(crc)) == crc)
            #expect(CRC32C.mask(crc) != crc)
        }
    }

    @Test func varintsAndFixedRoundTrip() throws {
        var w = ByteWriter()
        let values: [UInt64] = [0, 1, 127, 128, 300, 16383, 16384, 1 << 32, .max]
        for v in values { w.appendVarint(v) }
        w.appendFixed32(0xDEAD_BEEF)
        w.appendFixed64(0x0123_4567_89AB_CDEF)
        try w.bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var r = ByteReader(raw)
            for v in values { #expect(try r.readVarint64() == v) }
            #expect(try r.readFixed32() == 0xDEAD_BEEF)
            #expect(try r.readFixed64() == 0x0123_4567_89AB_CDEF)
            #expect(r.isAtEnd)
        }
    }

    @Test func truncatedInputThrowsInsteadOfTrapping() {
        var w = ByteWriter()
        w.appendVarint(UInt64.max)
        let encoded = w.bytes
        for cut in 0..<encoded.count {
            Array(encoded.prefix(cut)).withUnsafeBytes { raw in
                var r = ByteReader(raw)
                #expect(throws: DecodeError.self) { try r.readVarint64() }
            }
        }
        [UInt8](repeating: 0xff, count: 11).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            #expect(throws: DecodeError.self) { try r.readVarint64() }
        }
    }

    @Test func lz4RoundTripsAndRejectsGarbage() {
        let input = [UInt8](repeating: 7, count: 4000) + Array(0..<200).map { UInt8($0) }
        var compressed = [UInt8](repeating: 0, count: LZ4.maxCompressedLength(input.count))
        let n = input.withUnsafeBytes { src in compressed.withUnsafeMutableBytes { LZ4.compress(src, into: $0) } }
        #expect(n != nil && n! < input.count / 4)
        var output = [UInt8](repeating: 0, count: input.count)
        let m = compressed.prefix(n ?? 0).withUnsafeBytes { src in output.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) } }
        #expect(m == input.count && output == input)
        let garbage = [UInt8](repeating: 0xF0, count: 64)
        let bad = garbage.withUnsafeBytes { src in output.withUnsafeMutableBytes { LZ4.decompress(src, into: $0) } }
        #expect(bad == nil)
    }

    @Test func internalKeysOrderNewestFirstWithinAUserKey() {
        let a1 = InternalKey.make(bytes("a"), 1, .value)
        let a2 = InternalKey.make(bytes("a"), 2, .value)
        let ab = InternalKey.make(bytes("ab"), 9, .value)
        let b0 = InternalKey.make(bytes("b"), 0, .deletion)
        func cmp(_ x: [UInt8], _ y: [UInt8]) -> Int {
            x.withUnsafeBytes { px in y.withUnsafeBytes { py in InternalKey.compare(px, py) } }
        }
        #expect(cmp(a2, a1) < 0)
        #expect(cmp(a1, ab) < 0)
        #expect(cmp(ab, b0) < 0)
        #expect(cmp(a1, a1) == 0)
    }

    @Test func writeBatchEncodesAndDecodes() throws {
        var batch = WriteBatch()
        batch.put(bytes("k1"), bytes("v1"))
        batch.delete(bytes("k2"))
        batch.put(bytes(""), [])
        let rep = batch.encoded(sequence: 42)
        var seen: [(ValueType, [UInt8], [UInt8])] = []
        try rep.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            #expect(try WriteBatch.header(raw).sequence == 42)
            #expect(try WriteBatch.header(raw).count == 3)
            try WriteBatch.forEach(raw) { seen.append(($1, Array($2), Array($3))) }
        }
        #expect(seen.map(\.0) == [.value, .deletion, .value])
        #expect(seen.map(\.1) == [bytes("k1"), bytes("k2"), []])
        #expect(seen.map(\.2) == [bytes("v1"), [], []])
        for cut in WriteBatch.headerSize..<rep.count {
            _ = Array(rep.prefix(cut)).withUnsafeBytes { raw in
                #expect(throws: (any Error).self) { try WriteBatch.forEach(raw) { _, _, _, _ in } }
            }
        }
    }

    @Test func oversizedKeysAndValuesAreRejected() {
        var batch = WriteBatch()
        batch.put([UInt8](repeating: 1, count: Options.maxKeySizeBytes + 1), [])
        #expect(throws: DBError.self) { try batch.validate() }
        var ok = WriteBatch()
        ok.put([UInt8](repeating: 1, count: Options.maxKeySizeBytes), [1])
        #expect(throws: Never.self) { try ok.validate() }
    }
}
