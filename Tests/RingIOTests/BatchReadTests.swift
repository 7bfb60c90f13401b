#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO

@Suite("Batched random reads")
struct BatchReadTests {
    @Test(arguments: [File.DirectIO.required, .off])
    func thousandRandomBlockReadsMatchThePatternAndThePosixBackend(direct: File.DirectIO) throws {
        let seed = testSeed()
        try withTemporaryDirectory { dir in
            let path = dir + "/pattern16m"
            let fileBytes = 16 << 20
            let blockBytes = 4096
            try writePatternFile(path, sizeBytes: fileBytes)
            let file = try File.open(path, .read, direct: direct)
            defer { try? file.close() }

            var rng = SplitMix64(seed: seed)
            let count = 1000
            let blocks = fileBytes / blockBytes
            let offsets = (0..<count).map { _ in UInt64(Int.random(in: 0..<blocks, using: &rng) * blockBytes) }

            let uringBuffer = AlignedBuffer(capacity: count * blockBytes)
            let posixBuffer = AlignedBuffer(capacity: count * blockBytes)
            func requests(into base: UnsafeMutableRawPointer) -> [ReadRequest] {
                offsets.enumerated().map { i, offset in
                    ReadRequest(fd: file.fd, offset: offset, length: blockBytes, buffer: base + i * blockBytes)
                }
            }
            var uringRequests = requests(into: uringBuffer.pointer)
            try URingBackend(ringEntries: 256).readBatch(&uringRequests)
            var posixRequests = requests(into: posixBuffer.pointer)
            try PosixBackend().readBatch(&posixRequests)

            var failures = 0
            for i in 0..<count where failures < 5 {
                let r = uringRequests[i]
                let slot = UnsafeRawBufferPointer(start: r.buffer, count: blockBytes)
                let ok = r.error == nil && r.bytesRead == blockBytes
                    && firstPatternMismatch(slot, fileOffset: r.offset) == nil
                    && posixRequests[i].bytesRead == blockBytes
                if !ok {
                    failures += 1
                    Issue.record("read \(i) at \(r.offset) wrong (seed \(seed), set RINGIO_TEST_SEED to replay)")
                }
            }
            // Byte-for-byte identical to what pread returned.
            #expect(memcmp(uringBuffer.pointer, posixBuffer.pointer, count * blockBytes) == 0, "seed \(seed)")
        }
    }

    @Test func randomUnalignedBufferedReadsMatchThePosixBackend() throws {
        let seed = testSeed()
        try withTemporaryDirectory { dir in
            let path = dir + "/pattern1m"
            let fileBytes = 1 << 20
            try writePatternFile(path, sizeBytes: fileBytes)
            let file = try File.open(path, .read)
            defer { try? file.close() }
            var rng = SplitMix64(seed: seed)
            let count = 300
            let maxLength = 10_000
            let uringBuffer = AlignedBuffer(capacity: count * maxLength)
            let posixBuffer = AlignedBuffer(capacity: count * maxLength)
            var uringRequests: [ReadRequest] = []
            var posixRequests: [ReadRequest] = []
            for i in 0..<count {
                // Some requests run past end of file on purpose.
                let offset = UInt64.random(in: 0..<UInt64(fileBytes), using: &rng)
                let length = Int.random(in: 1...maxLength, using: &rng)
                uringRequests.append(ReadRequest(fd: file.fd, offset: offset, length: length,
                                                 buffer: uringBuffer.pointer + i * maxLength))
                posixRequests.append(ReadRequest(fd: file.fd, offset: offset, length: length,
                                                 buffer: posixBuffer.pointer + i * maxLength))
            }
            try URingBackend(ringEntries: 16).readBatch(&uringRequests)
            try PosixBackend().readBatch(&posixRequests)
            for i in 0..<count {
                let u = uringRequests[i]
                let expected = min(u.length, fileBytes - Int(u.offset))
                #expect(u.error == nil && u.bytesRead == expected, "request \(i), seed \(seed)")
                #expect(posixRequests[i].bytesRead == expected, "request \(i), seed \(seed)")
            }
            #expect(memcmp(uringBuffer.pointer, posixBuffer.pointer, count * maxLength) == 0, "seed \(seed)")
        }
    }
}
