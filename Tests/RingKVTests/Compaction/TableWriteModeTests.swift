import Glibc
import RingIO
import Testing
@testable import RingKV

/// `Options.directTableWrites`: flush and compaction outputs go through the
/// page cache by default (a table just written is read from memory) and
/// with O_DIRECT when asked; both kinds of table read back the same.
@Suite struct TableWriteModeTests {
    typealias F = CompactionFixtures

    @Test(arguments: [false, true])
    func outputsOpenBufferedUnlessDirectWritesAreAsked(direct: Bool) throws {
        let dir = try TempDir()
        try FileSystem.createDirectory(dir.sub("db"))
        var options = openOptions()
        options.directTableWrites = direct
        let output = try TableOutput(number: 1, dbPath: dir.sub("db"), backend: try URingBackend(), options: options)
        defer { output.abandon() }
        // tmpfs refuses O_DIRECT; `.preferred` then falls back to buffered.
        #expect(output.isDirect == (direct && !TableTestSupport.isOnTmpfs(dir.path)))
        #expect(!Options().directTableWrites, "buffered by default, as RocksDB")
    }

    @Test func aFlushedTableIsInThePageCacheWhenWrittenBuffered() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let value = [UInt8](repeating: 7, count: 1000)
        for i in 0..<2000 { try db.put(compactionKey(i), value) }
        try db.flush()
        let number = try #require(db.impl.versions.current.files[0].first?.number)
        let path = FileNames.table(dir.sub("db"), number)
        let (resident, pages) = try residentPages(path)
        #expect(pages > 0 && resident == pages, "\(resident) of \(pages) pages resident")
        try db.close()
    }

    @Test(arguments: [false, true])
    func tablesWrittenEitherWayReadBackAfterCompactionAndReopen(direct: Bool) throws {
        let dir = try TempDir()
        var options = F.smallOptions()
        options.directTableWrites = direct
        var db = try DB(path: dir.sub("db"), options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        for round in 0..<3 {
            for i in 0..<1500 {
                let value = bytes("round \(round) value \(i)") + [UInt8](repeating: UInt8(i & 0xff), count: 100)
                try db.put(compactionKey(i), value)
                model[compactionKey(i)] = value
            }
        }
        try db.compactRange()
        #expect(db.stats().compactions >= 1)
        try db.close()
        db = try DB(path: dir.sub("db"), options: options)
        let rows = try db.scan()
        #expect(rows.count == model.count && rows.allSatisfy { model[$0.key] == $0.value })
        for i in stride(from: 0, to: 1500, by: 97) { #expect(try db.get(compactionKey(i)) == model[compactionKey(i)]) }
        try db.close()
    }
}
