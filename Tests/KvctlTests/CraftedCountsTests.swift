import Glibc
import RingIO
import Testing
@testable import RingKV

/// Counts that a table's properties carry (data blocks, entries) are
/// UInt64s from disk: `kvctl dump-sst` and `kvctl stats` print any value,
/// and stats' totals over several tables saturate instead of trapping.
@Suite struct CraftedCountsTests {
    /// Rewrites the table at `path` with its properties changed by
    /// `change`: the old blocks stay, the new properties block (valid
    /// trailer) and a new footer naming it are appended.
    static func rewriteProperties(_ path: String, _ change: (inout TableProperties) -> Void) throws {
        let backend = PosixBackend()
        let reader = try TableReader.open(file: try File.open(path, .read), fileNumber: 1, backend: backend)
        var properties = reader.properties
        change(&properties)
        var footer = reader.footer
        let file = try File.open(path, .readWrite)
        defer { try? file.close() }
        let size = Int(try file.size())
        var bytes = [UInt8](repeating: 0, count: size - TableFooter.sizeBytes)
        _ = try bytes.withUnsafeMutableBytes { try backend.read(fd: file.fd, into: $0, offset: 0) }
        let block = properties.encode()
        footer.properties = BlockHandle(offset: UInt64(bytes.count), size: UInt64(block.count))
        bytes += block
        block.withUnsafeBytes { payload in BlockCodec.withTrailer(payload, .uncompressed) { bytes += Array($0) } }
        while (bytes.count + TableFooter.sizeBytes) % 4096 != 0 { bytes.append(0) }
        bytes += footer.encode()
        try bytes.withUnsafeBytes { try backend.write(fd: file.fd, from: $0, offset: 0) }
    }

    @Test func dumpSSTPrintsAHugeDataBlockCount() throws {
        let dir = try TempDir()
        let path = dir.sub("t.sst")
        let writer = try TableFileWriter(path: path)
        for i in 0..<10 { try writer.add(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
        try writer.finish()
        try Self.rewriteProperties(path) { $0.dataBlockCount = UInt64.max }
        let run = try Kvctl.run(["dump-sst", path])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("\(UInt64.max) data blocks"), "\(run.out)")
    }

    @Test(arguments: [false, true])
    func statsTotalsOfHugeEntryCountsDoNotTrap(_ json: Bool) throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: libraryOptions())
        try db.put("a", "1")
        try db.flush()
        try db.put("b", "2")
        try db.flush()
        try db.close()
        let tables = try FileSystem.listDirectory(path).filter { $0.hasSuffix(".sst") }
        #expect(tables.count == 2)
        for name in tables { try Self.rewriteProperties(path + "/" + name) { $0.entryCount = UInt64.max - 1 } }
        let run = try Kvctl.run(["--db", path, "stats"] + (json ? ["--json"] : []))
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("\(UInt64.max - 1)"), "\(run.out)")
    }
}
