#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO

/// Registered (fixed) buffers and files, as the WAL writer uses them.
@Suite("Registered buffers and files")
struct RegistrationTests {
    /// Submits what is prepared and returns the completions keyed by user data.
    private func complete(_ ring: Ring, count: Int) throws -> [UInt64: Int32] {
        try ring.submitAndWait(count)
        var out: [UInt64: Int32] = [:]
        while out.count < count {
            ring.harvest { out[$0.userData] = $0.result }
            if out.count < count { try ring.waitForCompletion() }
        }
        return out
    }

    @Test(arguments: [File.DirectIO.off, .required])
    func twoRegisteredBuffersAreReusedForManyFixedWritesAndReads(direct: File.DirectIO) throws {
        try withTemporaryDirectory { dir in
            let file = try File.open(dir + "/fixed", [.readWrite, .create], direct: direct)
            defer { try? file.close() }
            let ring = try Ring(entries: 16)
            let bufferBytes = 8192
            let first = AlignedBuffer(capacity: bufferBytes)
            let second = AlignedBuffer(capacity: bufferBytes)
            try ring.registerBuffers([first.bytes, second.bytes])
            defer { try? ring.unregisterBuffers() }

            for round in 0..<6 {
                // Write: buffer 0 -> slot 2*round, buffer 1 -> slot 2*round+1,
                // each filled with the pattern for where it lands.
                let offset0 = UInt64(2 * round * bufferBytes)
                let offset1 = offset0 + UInt64(bufferBytes)
                fillPattern(first.bytes, fileOffset: offset0)
                fillPattern(second.bytes, fileOffset: offset1)
                #expect(ring.prepWriteFixed(fd: file.fd, buffer: first.pointer, length: bufferBytes, offset: offset0,
                                            bufferIndex: 0, userData: 1))
                #expect(ring.prepWriteFixed(fd: file.fd, buffer: second.pointer, length: bufferBytes, offset: offset1,
                                            bufferIndex: 1, userData: 2))
                var results = try complete(ring, count: 2)
                #expect(results == [1: Int32(bufferBytes), 2: Int32(bufferBytes)], "round \(round) writes")

                // Read back crosswise, so each buffer receives the other's data.
                first.bytes.initializeMemory(as: UInt8.self, repeating: 0)
                second.bytes.initializeMemory(as: UInt8.self, repeating: 0)
                #expect(ring.prepReadFixed(fd: file.fd, buffer: first.pointer, length: bufferBytes, offset: offset1,
                                           bufferIndex: 0, userData: 3))
                #expect(ring.prepReadFixed(fd: file.fd, buffer: second.pointer, length: bufferBytes, offset: offset0,
                                           bufferIndex: 1, userData: 4))
                results = try complete(ring, count: 2)
                #expect(results == [3: Int32(bufferBytes), 4: Int32(bufferBytes)], "round \(round) reads")
                #expect(firstPatternMismatch(UnsafeRawBufferPointer(first.bytes), fileOffset: offset1) == nil)
                #expect(firstPatternMismatch(UnsafeRawBufferPointer(second.bytes), fileOffset: offset0) == nil)
            }

            // A part of a registered buffer works too (the address just has
            // to lie inside it).
            #expect(ring.prepReadFixed(fd: file.fd, buffer: second.pointer + 4096, length: 4096, offset: 4096,
                                       bufferIndex: 1, userData: 5))
            #expect(try complete(ring, count: 1) == [5: 4096])
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: second.bytes[4096..<8192]),
                                         fileOffset: 4096) == nil)
        }
    }

    @Test func fixedReadOutsideTheRegisteredBufferFailsWithEFAULT() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/data"
            try writePatternFile(path, sizeBytes: 8192)
            let file = try File.open(path, .read)
            defer { try? file.close() }
            let ring = try Ring(entries: 4)
            let registered = AlignedBuffer(capacity: 4096)
            let other = AlignedBuffer(capacity: 4096)
            try ring.registerBuffers([registered.bytes])
            #expect(ring.prepReadFixed(fd: file.fd, buffer: other.pointer, length: 4096, offset: 0,
                                       bufferIndex: 0, userData: 1))
            #expect(try complete(ring, count: 1)[1] == -EFAULT)
        }
    }

    @Test func registeredFilesAreAddressedByIndexWithFixedFile() throws {
        try withTemporaryDirectory { dir in
            let pathA = dir + "/a"
            let pathB = dir + "/b"
            try writePatternFile(pathA, sizeBytes: 16384, seed: 1)
            try writePatternFile(pathB, sizeBytes: 16384, seed: 2)
            let fileA = try File.open(pathA, [.readWrite], direct: .required)
            let fileB = try File.open(pathB, [.readWrite], direct: .required)
            defer { try? fileA.close(); try? fileB.close() }
            let ring = try Ring(entries: 8)
            try ring.registerFiles([fileA.fd, fileB.fd])
            defer { try? ring.unregisterFiles() }
            let buffer = AlignedBuffer(capacity: 4 * 4096)
            try ring.registerBuffers([buffer.bytes])

            // Index 1 is file B; index 0 is file A. Plain and fixed-buffer reads.
            #expect(ring.prepRead(fd: 1, buffer: buffer.pointer, length: 4096, offset: 4096,
                                  userData: 1, flags: .fixedFile))
            #expect(ring.prepRead(fd: 0, buffer: buffer.pointer + 4096, length: 4096, offset: 4096,
                                  userData: 2, flags: .fixedFile))
            #expect(ring.prepReadFixed(fd: 1, buffer: buffer.pointer + 8192, length: 4096, offset: 8192,
                                       bufferIndex: 0, userData: 3, flags: .fixedFile))
            var results = try complete(ring, count: 3)
            #expect(results == [1: 4096, 2: 4096, 3: 4096])
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<4096]),
                                         fileOffset: 4096, seed: 2) == nil)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: buffer.bytes[4096..<8192]),
                                         fileOffset: 4096, seed: 1) == nil)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: buffer.bytes[8192..<12288]),
                                         fileOffset: 8192, seed: 2) == nil)

            // Fixed write + linked fsync on a registered file.
            fillPattern(UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[12288..<16384]), fileOffset: 0, seed: 9)
            #expect(ring.prepWriteFixed(fd: 0, buffer: buffer.pointer + 12288, length: 4096, offset: 0,
                                        bufferIndex: 0, userData: 4, flags: [.fixedFile, .link]))
            #expect(ring.prepFsync(fd: 0, dataOnly: true, userData: 5, flags: .fixedFile))
            results = try complete(ring, count: 2)
            #expect(results == [4: 4096, 5: 0])
            let back = AlignedBuffer(capacity: 4096)
            #expect(try PosixBackend().read(fd: fileA.fd, into: back.bytes, offset: 0) == 4096)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(back.bytes), fileOffset: 0, seed: 9) == nil)

            // An index past the table is EBADF, not a crash.
            #expect(ring.prepRead(fd: 7, buffer: buffer.pointer, length: 4096, offset: 0,
                                  userData: 6, flags: .fixedFile))
            #expect(try complete(ring, count: 1)[6] == -EBADF)
            try ring.unregisterBuffers()
        }
    }
}
