import Glibc
import Testing
@testable import RingKV

/// Ingest looks at the file's status (`WrittenTables`): any time stamp
/// the filesystem can hold — here a modification time in the 25th
/// century — is compared, not turned into a trap.
@Suite struct IngestFileTimeTests {
    @Test func aTableFileModifiedInTheFarFutureIsIngested() throws {
        let dir = try TempDir()
        let info = try IngestTests.writeFile(dir.sub("a.sst"), IngestTests.pairs(0..<100, "v"))
        // 14·10⁹ s after the epoch (year 2413): ×10⁹ no longer fits in an Int64.
        var times = [timespec(tv_sec: 14_000_000_000, tv_nsec: 0), timespec(tv_sec: 14_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, info.path, &times, 0) == 0)
        var s = stat()
        #expect(stat(info.path, &s) == 0)
        guard s.st_mtim.tv_sec == 14_000_000_000 else {
            Issue.record("this filesystem keeps no such time (\(s.st_mtim.tv_sec)); the test proves nothing here")
            return
        }
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        try db.ingest([info.path])
        #expect(try db.get("k00042") == "v42")
    }
}
