import Glibc
import RingIO
import Testing
@testable import RingKV

/// Unsynced WAL groups are handed to writeback as the log grows
/// (WALWriter.startWritebackIfDue), so the fdatasync of a memtable switch
/// has about one step left to write instead of the whole log (issue 25:
/// that fdatasync stalled a replica's apply for 40-80 ms).
@Suite struct WALWritebackTests {
    @Test func unsyncedGroupsDoNotStayDirtyInThePageCache() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        let value = [UInt8](repeating: 0x5A, count: 1000)
        for i in 0..<8192 { try db.put(Array("key\(i)".utf8), value) }  // ~8 MiB, unsynced
        let logs = try FileSystem.listDirectory(dir.sub("db")).filter { $0.hasSuffix(".log") }.sorted()
        let live = try #require(logs.last)
        let file = try File.open(dir.sub("db") + "/" + live, [.read], direct: .off)
        defer { try? file.close() }
        let state: File.PageCacheState
        do throws(IOError) { state = try file.pageCacheState() } catch {
            if error.errno == ENOSYS { return }  // no cachestat before Linux 6.5
            throw error
        }
        // The kernel alone would keep all ~2000 written pages dirty for ~30 s.
        let stepPages = WALWriter.writebackStepBytes / 4096
        #expect(state.cachedPages > 1900, "\(state)")
        #expect(state.dirtyPages <= stepPages + 1, "\(state)")
    }
}
