#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO

/// IOSQE_IO_LINK chains as the WAL uses them: write linked to fsync.
@Suite("Linked SQEs")
struct LinkedOpsTests {
    /// Submits what is prepared and collects `count` completions in CQE order.
    private func complete(_ ring: Ring, count: Int) throws -> [Completion] {
        try ring.submitAndWait(count)
        var out: [Completion] = []
        while out.count < count {
            ring.harvest { out.append($0) }
            if out.count < count { try ring.waitForCompletion() }
        }
        return out
    }

    @Test(arguments: [File.DirectIO.off, .required])
    func linkedWriteThenFsyncBothCompleteWriteFirst(direct: File.DirectIO) throws {
        try withTemporaryDirectory { dir in
            let file = try File.open(dir + "/wal", [.readWrite, .create], direct: direct)
            defer { try? file.close() }
            let ring = try Ring(entries: 8)
            let buffer = AlignedBuffer(capacity: 8192)
            fillPattern(buffer.bytes, fileOffset: 0)
            for round in 0..<4 {
                let offset = UInt64(round * 8192)
                #expect(ring.prepWrite(fd: file.fd, buffer: buffer.pointer, length: 8192, offset: offset,
                                       userData: 1, flags: .link))
                #expect(ring.prepFsync(fd: file.fd, dataOnly: true, userData: 2))
                let completions = try complete(ring, count: 2)
                // The fsync starts only after the write finished, so its CQE
                // is posted second.
                #expect(completions == [Completion(userData: 1, result: 8192), Completion(userData: 2, result: 0)],
                        "round \(round)")
            }
            #expect(try file.size() == 4 * 8192)
        }
    }

    @Test func failedLinkedReadCancelsTheRestOfTheChain() throws {
        let ring = try Ring(entries: 8)
        let buffer = AlignedBuffer(capacity: 4096)
        #expect(ring.prepRead(fd: -1, buffer: buffer.pointer, length: 4096, offset: 0, userData: 1, flags: .link))
        #expect(ring.prepNop(userData: 2, flags: .link))
        #expect(ring.prepNop(userData: 3))
        // Not part of the chain: runs normally.
        #expect(ring.prepNop(userData: 4))
        let completions = try complete(ring, count: 4)
        let byUserData = Dictionary(uniqueKeysWithValues: completions.map { ($0.userData, $0.result) })
        #expect(byUserData[1] == -EBADF)
        #expect(byUserData[2] == -ECANCELED)
        #expect(byUserData[3] == -ECANCELED)
        #expect(byUserData[4] == 0)
    }

    @Test func failedLinkedWriteCancelsItsFsync() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/readonly"
            try writePatternFile(path, sizeBytes: 4096)
            // Opened for reading only: the write fails with EBADF.
            let file = try File.open(path, .read)
            defer { try? file.close() }
            let ring = try Ring(entries: 4)
            let buffer = AlignedBuffer(capacity: 4096)
            #expect(ring.prepWrite(fd: file.fd, buffer: buffer.pointer, length: 4096, offset: 0,
                                   userData: 10, flags: .link))
            #expect(ring.prepFsync(fd: file.fd, dataOnly: false, userData: 11))
            let completions = try complete(ring, count: 2)
            let byUserData = Dictionary(uniqueKeysWithValues: completions.map { ($0.userData, $0.result) })
            #expect(byUserData[10] == -EBADF)
            #expect(byUserData[11] == -ECANCELED)
            // The file is unchanged.
            let back = AlignedBuffer(capacity: 4096)
            #expect(try PosixBackend().read(fd: file.fd, into: back.bytes, offset: 0) == 4096)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(back.bytes), fileOffset: 0) == nil)
        }
    }
}
