import Glibc
import Testing
@testable import RingIO

/// `File.startWriteback` (sync_file_range) and `File.advise` change what
/// the page cache holds, as `File.pageCacheState` (cachestat) sees it.
@Suite struct PageCacheHintTests {
    /// 8 MiB of dirty pages in a fresh file (nothing syncs them).
    private func dirtyFile(_ dir: String) throws -> File {
        let file = try File.open(dir + "/f", [.readWrite, .create, .truncate])
        let chunk = [UInt8](repeating: 0x5A, count: 1 << 20)
        for i in 0..<8 {
            let n = chunk.withUnsafeBytes { pwrite(file.fd, $0.baseAddress, $0.count, off_t(i << 20)) }
            #expect(n == 1 << 20)
        }
        return file
    }

    /// Polls `state` for up to 10 s until `done` holds.
    private func eventually(_ file: File, _ done: (File.PageCacheState) -> Bool) throws -> File.PageCacheState {
        var state = try file.pageCacheState()
        for _ in 0..<1000 where !done(state) {
            usleep(10_000)
            state = try file.pageCacheState()
        }
        return state
    }

    /// The state, or nil on kernels without cachestat (before 6.5).
    private func stateIfSupported(_ file: File) throws -> File.PageCacheState? {
        do throws(IOError) { return try file.pageCacheState() } catch {
            if error.errno == ENOSYS { return nil }
            throw error
        }
    }

    @Test func startedWritebackCleansTheRangeWithoutAnFsync() throws { try withTemporaryDirectory { dir in
        let file = try dirtyFile(dir)
        guard let before = try stateIfSupported(file) else { return }
        #expect(before.dirtyPages >= 2000, "\(before)")
        try file.startWriteback(offset: 0, length: 4 << 20)
        let after = try eventually(file) { $0.dirtyPages <= 1024 && $0.writebackPages == 0 }
        // The first half was written back; the second is still dirty (the
        // kernel writes back unprompted only after ~30 s or under pressure).
        #expect(after.dirtyPages <= 1024 && after.dirtyPages >= 900, "\(after)")
        #expect(after.cachedPages == before.cachedPages)
        try file.close()
    } }

    @Test func dontNeedDropsCleanPagesAndRandomAdviceIsAccepted() throws { try withTemporaryDirectory { dir in
        let file = try dirtyFile(dir)
        guard try stateIfSupported(file) != nil else { return }
        try file.advise(.random)
        #expect(fsync(file.fd) == 0)
        try file.advise(.dontNeed, offset: 0, length: 4 << 20)
        let state = try file.pageCacheState()
        #expect(state.dirtyPages == 0 && state.cachedPages <= 1024 && state.cachedPages >= 1000, "\(state)")
        try file.close()
    } }
}
