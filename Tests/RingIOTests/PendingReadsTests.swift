#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO
import RingIOFaults

/// `submitReads`: submit now, harvest later — same bytes as `readBatch`, and
/// safe to drop before harvesting.
@Suite("Pending (submit-now, harvest-later) reads")
struct PendingReadsTests {
    static let fileBytes = 4 << 20

    /// `count` reads of `lengthBytes` spread over the file, into `buffer`.
    static func requests(fd: Int32, buffer: SharedAlignedBuffer, count: Int, lengthBytes: Int) -> [ReadRequest] {
        (0..<count).map { i in
            let offset = UInt64((i * 7919 % (fileBytes / lengthBytes)) * lengthBytes)
            return ReadRequest(fd: fd, offset: offset, length: lengthBytes, buffer: buffer.pointer + i * lengthBytes)
        }
    }

    static func backends() throws -> [any IOBackend] { [try URingBackend(ringEntries: 8), PosixBackend()] }

    @Test(arguments: [File.DirectIO.preferred, .off])
    func harvestedReadsMatchTheFile(direct: File.DirectIO) throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/pattern"
            try writePatternFile(path, sizeBytes: Self.fileBytes)
            let file = try File.open(path, .read, direct: direct)
            for backend in try Self.backends() {
                // 40 requests on an 8-entry ring: the rest are submitted by wait().
                let count = 40, length = 16 << 10
                let buffer = SharedAlignedBuffer(capacity: count * length)
                let pending = try backend.submitReads(
                    Self.requests(fd: file.fd, buffer: buffer, count: count, lengthBytes: length), buffer: buffer)
                let done = try pending.wait()
                #expect(pending.isComplete)
                #expect(done.count == count)
                for r in done {
                    #expect(r.error == nil && r.bytesRead == length, "\(backend.name)")
                    let bytes = UnsafeRawBufferPointer(start: r.buffer, count: length)
                    #expect(firstPatternMismatch(bytes, fileOffset: r.offset) == nil, "\(backend.name) at \(r.offset)")
                }
                // wait() is idempotent.
                #expect(try pending.wait().map(\.bytesRead) == done.map(\.bytesRead))
            }
        }
    }

    @Test func readsPastTheEndStopShortAndBadDescriptorsFailPerRequest() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/pattern"
            try writePatternFile(path, sizeBytes: Self.fileBytes)
            let file = try File.open(path, .read)
            let backend = try URingBackend()
            let buffer = SharedAlignedBuffer(capacity: 3 * 8192)
            let pending = try backend.submitReads([
                ReadRequest(fd: file.fd, offset: UInt64(Self.fileBytes - 4096), length: 8192, buffer: buffer.pointer),
                ReadRequest(fd: -1, offset: 0, length: 8192, buffer: buffer.pointer + 8192),
                ReadRequest(fd: file.fd, offset: 0, length: 8192, buffer: buffer.pointer + 16384),
            ], buffer: buffer)
            let done = try pending.wait()
            #expect(done[0].error == nil && done[0].bytesRead == 4096)
            #expect(done[1].error?.errno == EBADF)
            #expect(done[2].error == nil && done[2].bytesRead == 8192)
        }
    }

    @Test func droppingUnharvestedReadsDrainsThemAndReusesTheRing() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/pattern"
            try writePatternFile(path, sizeBytes: Self.fileBytes)
            let file = try File.open(path, .read, direct: .preferred)
            let backend = try URingBackend(ringEntries: 8)
            for _ in 0..<50 {
                let buffer = SharedAlignedBuffer(capacity: 20 * 65536)
                var pending: PendingReads? = try backend.submitReads(
                    Self.requests(fd: file.fd, buffer: buffer, count: 20, lengthBytes: 65536), buffer: buffer)
                #expect(pending != nil)
                pending = nil  // drains here; the buffer goes with it
            }
            // The drained rings went back to the pool in a clean state.
            let buffer = AlignedBuffer(capacity: 4096)
            var requests = [ReadRequest(fd: file.fd, offset: 4096, length: 4096, buffer: buffer.pointer)]
            try backend.readBatch(&requests)
            #expect(requests[0].bytesRead == 4096)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(start: buffer.pointer, count: 4096), fileOffset: 4096) == nil)
        }
    }

    @Test func injectedReadFaultsAppearAtHarvest() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/pattern"
            try writePatternFile(path, sizeBytes: Self.fileBytes)
            let file = try File.open(path, .read)
            let plan = FaultPlan()
            let backend = FaultInjectingBackend(base: try URingBackend(), plan: plan)
            let buffer = SharedAlignedBuffer(capacity: 4 * 4096)
            let pending = try backend.submitReads(
                Self.requests(fd: file.fd, buffer: buffer, count: 4, lengthBytes: 4096), buffer: buffer)
            // Added after submission: the fault is decided at harvest.
            plan.add(FaultPlan.Rule(kind: .read, nth: 2, errno: EIO))
            let done = try pending.wait()
            #expect(done.map { $0.error?.errno } == [nil, EIO, nil, nil])
            #expect(plan.injectedCount == 1)
        }
    }
}
