#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO

@Suite("URingBackend read/write")
struct URingBackendTests {
    @Test(arguments: [File.DirectIO.off, .required])
    func writeThenReadRoundTrips(direct: File.DirectIO) throws {
        try withTemporaryDirectory { dir in
            let backend = try URingBackend(ringEntries: 32)
            let file = try File.open(dir + "/data", [.readWrite, .create], direct: direct)
            defer { try? file.close() }
            #expect(file.isDirect == (direct == .required))
            let sizeBytes = 64 * 1024
            let out = AlignedBuffer(capacity: sizeBytes)
            fillPattern(out.bytes, fileOffset: 0)
            // One big write, then a rewrite of one block in the middle.
            try backend.write(fd: file.fd, from: UnsafeRawBufferPointer(out.bytes), offset: 0)
            #expect(try file.size() == UInt64(sizeBytes))

            let back = AlignedBuffer(capacity: sizeBytes)
            let n = try backend.read(fd: file.fd, into: back.bytes, offset: 0)
            #expect(n == sizeBytes)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(back.bytes), fileOffset: 0) == nil)

            // Reads at several block offsets see the right slice.
            for block in [0, 1, 7, 15] {
                let one = AlignedBuffer(capacity: 4096)
                let offset = UInt64(block * 4096)
                #expect(try backend.read(fd: file.fd, into: one.bytes, offset: offset) == 4096)
                #expect(firstPatternMismatch(UnsafeRawBufferPointer(one.bytes), fileOffset: offset) == nil,
                        "block \(block)")
            }
        }
    }

    @Test func buffersAtUnalignedOffsetsRoundTripWithoutODirect() throws {
        try withTemporaryDirectory { dir in
            let backend = try URingBackend()
            let file = try File.open(dir + "/data", [.readWrite, .create])
            defer { try? file.close() }
            let payload: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            // The closures below throw untyped (the compiler crashes on a
            // typed-throws closure passed to withUnsafeBytes in 6.3.1).
            try payload.withUnsafeBytes { bytes in
                try backend.write(fd: file.fd, from: bytes, offset: 13)
            }
            var back = [UInt8](repeating: 0, count: 1000)
            let n = try back.withUnsafeMutableBytes { bytes in
                try backend.read(fd: file.fd, into: bytes, offset: 13)
            }
            #expect(n == 1000)
            #expect(back == payload)
        }
    }

    @Test func misalignedODirectReadIsAnEINVALErrorNotACrash() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/direct"
            try writePatternFile(path, sizeBytes: 64 * 1024)
            let backend = try URingBackend()
            let file = try File.open(path, .read, direct: .required)
            defer { try? file.close() }
            #expect(file.isDirect)
            let buffer = AlignedBuffer(capacity: 8192)

            // Offset not a multiple of the logical block size.
            let badOffset = #expect(throws: IOError.self) {
                _ = try backend.read(fd: file.fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<4096]),
                                     offset: 1)
            }
            #expect(badOffset?.errno == EINVAL)
            #expect(badOffset?.operation == "io_uring read")
            #expect(badOffset?.offset == 1)
            #expect(badOffset?.description.contains("Invalid argument") == true)

            // Buffer address not aligned.
            let badBuffer = #expect(throws: IOError.self) {
                _ = try backend.read(fd: file.fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[1..<4097]),
                                     offset: 0)
            }
            #expect(badBuffer?.errno == EINVAL)

            // Length not a multiple of the block size.
            let badLength = #expect(throws: IOError.self) {
                _ = try backend.read(fd: file.fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<100]),
                                     offset: 0)
            }
            #expect(badLength?.errno == EINVAL)

            // The backend is still usable afterwards.
            #expect(try backend.read(fd: file.fd, into: buffer.bytes, offset: 4096) == 8192)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(buffer.bytes), fileOffset: 4096) == nil)
        }
    }

    @Test func misalignedODirectWriteIsAnEINVALError() throws {
        try withTemporaryDirectory { dir in
            let backend = try URingBackend()
            let file = try File.open(dir + "/direct", [.readWrite, .create], direct: .required)
            defer { try? file.close() }
            let buffer = AlignedBuffer(capacity: 8192)
            let error = #expect(throws: IOError.self) {
                try backend.write(fd: file.fd, from: UnsafeRawBufferPointer(rebasing: buffer.bytes[1..<4097]), offset: 0)
            }
            #expect(error?.errno == EINVAL)
            #expect(error?.operation == "io_uring write")
        }
    }

    @Test(arguments: [File.DirectIO.off, .required])
    func readCrossingEndOfFileReturnsExactlyTheBytesThatExist(direct: File.DirectIO) throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/short"
            let sizeBytes = 10_000  // deliberately not a multiple of 4096
            try writePatternFile(path, sizeBytes: sizeBytes)
            let backend = try URingBackend()
            let file = try File.open(path, .read, direct: direct)
            defer { try? file.close() }

            let buffer = AlignedBuffer(capacity: 16384)
            // Starts inside the file, ends past its end.
            let n = try backend.read(fd: file.fd, into: buffer.bytes, offset: 8192)
            #expect(n == sizeBytes - 8192)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<n]), fileOffset: 8192) == nil)
            // Bytes past end of file are untouched (the buffer was zeroed).
            #expect(buffer.bytes[n..<16384].allSatisfy { $0 == 0 })

            // Whole file in one request larger than the file.
            let all = AlignedBuffer(capacity: 16384)
            #expect(try backend.read(fd: file.fd, into: all.bytes, offset: 0) == sizeBytes)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: all.bytes[0..<sizeBytes]), fileOffset: 0) == nil)

            // At or past end of file: zero bytes, no error.
            #expect(try backend.read(fd: file.fd, into: buffer.bytes, offset: 12288) == 0)

            // The same through readBatch.
            var requests = [
                ReadRequest(fd: file.fd, offset: 8192, length: 8192, buffer: buffer.pointer),
                ReadRequest(fd: file.fd, offset: 0, length: 4096, buffer: all.pointer),
            ]
            try backend.readBatch(&requests)
            #expect(requests[0].error == nil && requests[0].bytesRead == sizeBytes - 8192)
            #expect(requests[1].error == nil && requests[1].bytesRead == 4096)
        }
    }

    @Test func readBatchWithMoreRequestsThanRingEntriesCompletesEveryOne() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/batch"
            let blockBytes = 4096
            try writePatternFile(path, sizeBytes: 128 * blockBytes)
            let backend = try URingBackend(ringEntries: 8)
            let file = try File.open(path, .read, direct: .required)
            defer { try? file.close() }
            let count = 100
            let buffer = AlignedBuffer(capacity: count * blockBytes)
            var requests = (0..<count).map { i in
                // Reverse order, so results cannot line up by accident.
                ReadRequest(fd: file.fd, offset: UInt64((127 - i) * blockBytes), length: blockBytes,
                            buffer: buffer.pointer + i * blockBytes)
            }
            try backend.readBatch(&requests)
            for (i, r) in requests.enumerated() {
                #expect(r.error == nil, "request \(i): \(String(describing: r.error))")
                #expect(r.bytesRead == blockBytes, "request \(i)")
                let slot = UnsafeRawBufferPointer(start: r.buffer, count: blockBytes)
                #expect(firstPatternMismatch(slot, fileOffset: r.offset) == nil, "request \(i)")
            }
        }
    }

    @Test func writeBatchWithMoreRequestsThanRingEntriesWritesEveryOne() throws {
        try withTemporaryDirectory { dir in
            let backend = try URingBackend(ringEntries: 8)
            let file = try File.open(dir + "/wbatch", [.readWrite, .create], direct: .required)
            defer { try? file.close() }
            let blockBytes = 4096
            let count = 100
            let buffer = AlignedBuffer(capacity: count * blockBytes)
            fillPattern(buffer.bytes, fileOffset: 0)
            let requests = (0..<count).map { i in
                WriteRequest(fd: file.fd, offset: UInt64(i * blockBytes),
                             buffer: UnsafeRawBufferPointer(rebasing: buffer.bytes[(i * blockBytes)..<((i + 1) * blockBytes)]))
            }
            try backend.writeBatch(requests)
            let back = AlignedBuffer(capacity: count * blockBytes)
            #expect(try PosixBackend().read(fd: file.fd, into: back.bytes, offset: 0) == count * blockBytes)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(back.bytes), fileOffset: 0) == nil)
        }
    }

    @Test func readBatchReportsAFailedReadPerRequestWithoutThrowing() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/mixed"
            try writePatternFile(path, sizeBytes: 16384)
            let backend = try URingBackend()
            let file = try File.open(path, .read, direct: .required)
            defer { try? file.close() }
            let buffer = AlignedBuffer(capacity: 3 * 4096)
            var requests = [
                ReadRequest(fd: file.fd, offset: 0, length: 4096, buffer: buffer.pointer),
                ReadRequest(fd: file.fd, offset: 1, length: 4096, buffer: buffer.pointer + 4096),  // misaligned
                ReadRequest(fd: -1, offset: 0, length: 4096, buffer: buffer.pointer + 8192),       // bad fd
            ]
            try backend.readBatch(&requests)
            #expect(requests[0].error == nil && requests[0].bytesRead == 4096)
            #expect(requests[1].error?.errno == EINVAL)
            #expect(requests[2].error?.errno == EBADF)
        }
    }

    @Test(arguments: [false, true])
    func syncAndPreallocateSucceed(dataOnly: Bool) throws {
        try withTemporaryDirectory { dir in
            let backends: [any IOBackend] = [try URingBackend(), PosixBackend()]
            for backend in backends {
                let path = dir + "/prealloc-" + backend.name
                let file = try File.open(path, [.readWrite, .create], direct: .preferred)
                defer { try? file.close() }
                let lengthBytes: UInt64 = 1 << 20
                try backend.preallocate(fd: file.fd, offset: 0, length: lengthBytes)
                // fallocate mode 0 extends the size and reserves the blocks.
                #expect(try file.size() == lengthBytes, "\(backend.name)")
                var st = stat()
                #expect(fstat(file.fd, &st) == 0)
                #expect(UInt64(st.st_blocks) * 512 >= lengthBytes, "\(backend.name)")

                let block = AlignedBuffer(capacity: 4096)
                fillPattern(block.bytes, fileOffset: 4096)
                try backend.write(fd: file.fd, from: UnsafeRawBufferPointer(block.bytes), offset: 4096)
                try backend.sync(fd: file.fd, dataOnly: dataOnly)
                // Writing inside the preallocated range does not grow the file.
                #expect(try file.size() == lengthBytes)
            }
        }
    }

    @Test func syncOnABadDescriptorIsATypedError() throws {
        let backend = try URingBackend()
        let error = #expect(throws: IOError.self) { try backend.sync(fd: -1, dataOnly: true) }
        #expect(error?.errno == EBADF)
        #expect(error?.operation == "io_uring fdatasync")
    }
}
