import Glibc
import RingIO
import Testing
@testable import RingKV

/// A buffered table is handed to writeback as it is written, batch by
/// batch, so its fsync has little left to write (`AlignedChunkWriter`).
@Suite struct TableWritebackTests {
    @Test func bufferedChunksGoToWritebackBeforeTheFsync() throws {
        try TableTestSupport.withTemporaryDirectory { dir in
            let file = try File.open(dir + "/000001.sst", [.readWrite, .create, .truncate], direct: .off)
            defer { try? file.close() }
            do throws(IOError) { _ = try file.pageCacheState() } catch {
                if error.errno == ENOSYS { return }  // no cachestat before Linux 6.5
                throw error
            }
            let writer = AlignedChunkWriter(file: file, backend: try TableTestSupport.makeBackend(),
                                            chunkSizeBytes: 256 << 10, chunksPerBatch: 4)
            let mib = [UInt8](repeating: 0xA5, count: 1 << 20)
            for _ in 0..<8 { try writer.append(mib) }
            #expect(writer.writebackStarted == 8 << 20)
            // No fsync yet: the kernel would hold these pages dirty for ~30 s.
            var state = try file.pageCacheState()
            for _ in 0..<1000 where state.dirtyPages > 0 || state.writebackPages > 0 {
                usleep(10_000)
                state = try file.pageCacheState()
            }
            #expect(state.dirtyPages == 0 && state.cachedPages == 2048, "\(state)")
            writer.abandon()
        }
    }
}
