import CRingSupport
import Glibc
import Synchronization
import Testing
@testable import RingIO

/// `URingBackend`'s foreground reads (`CompletionPoll`, `Options.readPollMicros`):
/// a lone buffered read takes what the page cache holds with one
/// preadv2(RWF_NOWAIT) and the rest through the ring, polling for its
/// completion; O_DIRECT reads poll too; threads marked background and a
/// zero budget never poll; the bytes are right whichever way they came.
@Suite struct ReadPollTests {
    static let fileBytes = 1 << 20

    /// A pattern file, synced and then dropped from the page cache. The
    /// drop is checked (`mincore` of a mapping, which reads nothing) and
    /// repeated while a page stays: under load the kernel may keep a page
    /// it could not invalidate at once (one still in another CPU's LRU
    /// batch), and a test expecting the device would find it cached.
    private func coldFile(_ dir: String) throws -> File {
        let path = dir + "/f"
        try writePatternFile(path, sizeBytes: ReadPollTests.fileBytes)
        let file = try File.open(path, .read)
        for _ in 0..<100 {
            try file.advise(.dontNeed)
            if cachedPages(file) <= 0 { return file }  // none, or mincore cannot tell
            usleep(10_000)
        }
        Issue.record("the page cache kept pages of \(path) through 100 drops")
        return file
    }

    /// Pages of the file in the page cache (mincore), -1 if it cannot tell.
    private func cachedPages(_ file: File) -> Int {
        let length = ReadPollTests.fileBytes
        guard let map = mmap(nil, length, PROT_READ, MAP_SHARED, file.fd, 0), map != MAP_FAILED else { return -1 }
        defer { munmap(map, length) }
        var pages = [UInt8](repeating: 0, count: length / 4096)
        guard mincore(map, length, &pages) == 0 else { return -1 }
        return pages.reduce(0) { $0 + Int($1 & 1) }
    }

    private func polled(_ backend: URingBackend) -> Int { backend.readPoll?.polled.load(ordering: .relaxed) ?? 0 }

    /// Reads `count` bytes at `offset` alone (buffered) and checks them.
    private func readAndCheck(_ backend: URingBackend, _ file: File, offset: UInt64, count: Int,
                              expect expected: Int? = nil) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 4096)
        defer { buffer.deallocate() }
        let n = try backend.readAlone(fd: file.fd, into: buffer, offset: offset, direct: false)
        #expect(n == (expected ?? count))
        #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), fileOffset: offset) == nil)
    }

    @Test func anUncachedReadGoesThroughTheRingAndPolls() throws { try withTemporaryDirectory { dir in
        let backend = try URingBackend(readPollMicros: 1000)
        let file = try coldFile(dir)
        try readAndCheck(backend, file, offset: 12_345, count: 8192)
        #expect(polled(backend) == 1)
        // Now cached: one preadv2, no ring, no poll.
        try readAndCheck(backend, file, offset: 12_345, count: 8192)
        #expect(polled(backend) == 1)
        try file.close()
    } }

    @Test func aPartlyCachedRangeReadsItsCachedPagesThenTheRest() throws { try withTemporaryDirectory { dir in
        let backend = try URingBackend(readPollMicros: 1000)
        let file = try coldFile(dir)
        // Cache the first page only (a plain pread; the file's advice keeps
        // the kernel from reading ahead).
        try file.advise(.random)
        var one = [UInt8](repeating: 0, count: 4096)
        #expect(one.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, 4096, 65_536) } == 4096)
        try readAndCheck(backend, file, offset: 65_536 + 100, count: 3 * 4096)
        #expect(polled(backend) == 1)
        try file.close()
    } }

    @Test func aReadPastTheEndReturnsTheBytesThatExist() throws { try withTemporaryDirectory { dir in
        let backend = try URingBackend(readPollMicros: 1000)
        let file = try coldFile(dir)
        let size = UInt64(ReadPollTests.fileBytes)
        try readAndCheck(backend, file, offset: size - 1000, count: 8192, expect: 1000)  // cold
        try readAndCheck(backend, file, offset: size - 1000, count: 8192, expect: 1000)  // cached
        try readAndCheck(backend, file, offset: size + 4096, count: 4096, expect: 0)
        try file.close()
    } }

    @Test func directReadsPollAndAZeroBudgetNeverDoes() throws { try withTemporaryDirectory { dir in
        let path = dir + "/f"
        try writePatternFile(path, sizeBytes: ReadPollTests.fileBytes)
        let file = try File.open(path, .read, direct: .required)
        let polling = try URingBackend(readPollMicros: 1000)
        let sleeping = try URingBackend(readPollMicros: 0)
        #expect(sleeping.readPoll == nil)
        let buffer = AlignedBuffer(capacity: 8192)
        for backend in [polling, sleeping] {
            #expect(try backend.readAlone(fd: file.fd, into: buffer.bytes, offset: 40_960, direct: true) == 8192)
            #expect(firstPatternMismatch(UnsafeRawBufferPointer(buffer.bytes), fileOffset: 40_960) == nil)
            var batch = [ReadRequest(fd: file.fd, offset: 0, length: 4096, buffer: buffer.pointer),
                         ReadRequest(fd: file.fd, offset: 8192, length: 4096, buffer: buffer.pointer + 4096)]
            try backend.readBatch(&batch)
            #expect(batch.allSatisfy { $0.bytesRead == 4096 && $0.error == nil })
        }
        #expect(polled(polling) >= 2)
        try file.close()
    } }

    @Test func threadsMarkedBackgroundNeverPoll() throws { try withTemporaryDirectory { dir in
        let backend = try URingBackend(readPollMicros: 1000)
        let file = try coldFile(dir)
        let path = dir + "/f"
        let direct = try File.open(path, .read, direct: .required)
        let failures = Atomic<Int>(0)
        let context = Unmanaged.passRetained(Box {
            _ = rk_thread_set_background(true)
            do {
                try readAndCheck(backend, file, offset: 4096, count: 8192)
                let buffer = AlignedBuffer(capacity: 8192)
                _ = try backend.readAlone(fd: direct.fd, into: buffer.bytes, offset: 0, direct: true)
                if firstPatternMismatch(UnsafeRawBufferPointer(buffer.bytes), fileOffset: 0) != nil {
                    failures.add(1, ordering: .relaxed)
                }
            } catch { failures.add(1, ordering: .relaxed) }
        })
        var thread = pthread_t()
        #expect(pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context.toOpaque()) == 0)
        pthread_join(thread, nil)
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(polled(backend) == 0)
        #expect(!rk_thread_is_background(), "the mark is the marked thread's own")
        try file.close()
        try direct.close()
    } }

    private final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
