#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO
import RingIOFaults

/// `AsyncReadRing`: tasks suspend on io_uring completions, one completion
/// thread resumes them.
@Suite("Async reads (suspend on io_uring completions)")
struct AsyncReadRingTests {
    static let fileBytes = 8 << 20

    /// One read of `pages` 4 KiB pages at page `page` of `fd` into a buffer of its own.
    static func read(_ ring: AsyncReadRing, fd: Int32, page: Int, pages: Int = 1) async throws -> (UInt64, SharedAlignedBuffer, ReadRequest) {
        let length = pages * 4096
        let buffer = SharedAlignedBuffer(capacity: length)
        let offset = UInt64(page * 4096)
        let done = try await ring.read([ReadRequest(fd: fd, offset: offset, length: length, buffer: buffer.pointer)],
                                       buffer: buffer)
        return (offset, buffer, done[0])
    }

    @Test(arguments: [File.DirectIO.preferred, .off])
    func thousandsOfConcurrentTasksReadTheRightBytesOnAFewThreads(direct: File.DirectIO) async throws {
        let pattern = try PatternFixture(sizeBytes: Self.fileBytes, direct: direct)
        let ring = try AsyncReadRing(entries: 64)
        defer { ring.shutdown() }
        let tasks = 3000
        let pagesInFile = Self.fileBytes / 4096
        // Each task reports the OS thread it resumed on after its read.
        let resumedOn = try await withThrowingTaskGroup(of: UInt.self) { group in
            for i in 0..<tasks {
                group.addTask {
                    let (offset, buffer, r) = try await Self.read(ring, fd: pattern.file.fd, page: (i * 7919) % (pagesInFile - 2),
                                                                  pages: 1 + i % 2)
                    #expect(r.error == nil && r.bytesRead == r.length)
                    let bytes = UnsafeRawBufferPointer(start: buffer.pointer, count: r.bytesRead)
                    #expect(firstPatternMismatch(bytes, fileOffset: offset) == nil, "task \(i) at \(offset)")
                    return UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))
                }
            }
            var threads = Set<UInt>()
            for try await thread in group { threads.insert(thread) }
            return threads
        }
        // 3000 tasks waiting on reads ran on the cooperative pool (one
        // thread per core), never on a thread per task: nothing blocked a
        // thread per read. The pool may retire an idle worker and start a
        // new one (a new thread id) meanwhile, so a few more ids than cores
        // can appear; a thread per blocked read would show hundreds. (The
        // process-wide thread count is not a usable measure here: other
        // suites run in parallel.)
        #expect(resumedOn.count <= 4 * ProcessInfoCores.count, "tasks resumed on \(resumedOn.count) threads")
    }

    @Test func shortReadsAreResubmittedUntilComplete() async throws {
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        // Every completion is reported as half of what moved.
        let ring = try AsyncReadRing(entries: 8, shortTransfers: { _, _, moved in max(moved / 2, 1) })
        defer { ring.shutdown() }
        let (offset, buffer, r) = try await Self.read(ring, fd: pattern.file.fd, page: 3, pages: 16)
        #expect(r.error == nil && r.bytesRead == 16 * 4096)
        #expect(firstPatternMismatch(UnsafeRawBufferPointer(start: buffer.pointer, count: r.bytesRead),
                                     fileOffset: offset) == nil)
    }

    @Test func endOfFileStopsShortAndABadDescriptorFailsOnlyItsRequest() async throws {
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        let ring = try AsyncReadRing(entries: 8)
        defer { ring.shutdown() }
        let buffer = SharedAlignedBuffer(capacity: 3 * 8192)
        let done = try await ring.read([
            ReadRequest(fd: pattern.file.fd, offset: UInt64((1 << 20) - 4096), length: 8192, buffer: buffer.pointer),
            ReadRequest(fd: -1, offset: 0, length: 8192, buffer: buffer.pointer + 8192),
            ReadRequest(fd: pattern.file.fd, offset: 0, length: 8192, buffer: buffer.pointer + 16384),
        ], buffer: buffer)
        #expect(done[0].error == nil && done[0].bytesRead == 4096)
        #expect(done[1].error?.errno == EBADF)
        #expect(done[2].error == nil && done[2].bytesRead == 8192)
    }

    @Test func aTaskCancelledBeforeSubmittingThrowsCancellationError() async throws {
        let pattern = try PatternFixture(sizeBytes: 1 << 20)
        let ring = try AsyncReadRing(entries: 8)
        defer { ring.shutdown() }
        let task = Task {
            // Wait until cancelled, then read: nothing may be submitted.
            while !Task.isCancelled { await Task.yield() }
            return try await Self.read(ring, fd: pattern.file.fd, page: 0).2.bytesRead
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test func readsAfterShutdownFailWithoutHanging() async throws {
        let ring = try AsyncReadRing(entries: 8)
        ring.shutdown()
        let buffer = SharedAlignedBuffer(capacity: 4096)
        await #expect(throws: IOError.self) {
            _ = try await ring.read([ReadRequest(fd: 0, offset: 0, length: 4096, buffer: buffer.pointer)], buffer: buffer)
        }
    }
}

/// A pattern file (`writePatternFile`) in a temporary directory, open for
/// reading; closed and removed when the fixture goes.
final class PatternFixture: Sendable {
    let dir: String
    let file: File

    init(sizeBytes: Int, direct: File.DirectIO = .off) throws {
        dir = try FileSystem.makeTemporaryDirectory(prefix: "ringio-async")
        do {
            try writePatternFile(dir + "/pattern", sizeBytes: sizeBytes)
            file = try File.open(dir + "/pattern", .read, direct: direct)
        } catch {
            try? FileSystem.removeTree(dir)
            throw error
        }
    }

    deinit {
        try? file.close()
        try? FileSystem.removeTree(dir)
    }
}

/// Online CPU count (the size of Swift's cooperative pool).
enum ProcessInfoCores {
    static var count: Int { max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1) }
}
