import Testing
import RingIO
@testable import RingKV

/// `TableReader.readBlockAsync`, the async get's miss path: a block read
/// alone through `AsyncReadRing` gives what the sync `readBlock` gives,
/// and damage is reported the same way.
@Suite struct TableReaderAsyncReadTests {
    static func bytes(_ block: Block) -> [UInt8] {
        withExtendedLifetime(block) { Array(UnsafeRawBufferPointer(start: block.layout.base, count: block.count)) }
    }

    /// The handles of the table's data blocks, in order.
    static func dataBlockHandles(_ reader: TableReader) throws -> [BlockHandle] {
        var handles: [BlockHandle] = []
        let it = reader.makeIterator()
        try it.seekToFirst()
        while it.isValid {
            if let h = it.currentBlockHandle, handles.last != h { handles.append(h) }
            try it.next()
        }
        return handles
    }

    @Test(arguments: [File.DirectIO.preferred, .off], [BlockCompression.lz4, .uncompressed])
    func asyncBlockReadsEqualSyncOnesAndReportDamage(direct: File.DirectIO, compression: BlockCompression) async throws {
        // Without io_uring the async get runs the sync path: nothing to test.
        guard let ring = AsyncReadRing.shared else { return }
        let backend = try TableTestSupport.makeBackend()
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "ringkv-async-block")
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/000009.sst"
        var options = TableBuilderOptions()
        options.compression = compression
        try TableTestSupport.writeTable(path: path, entries: TableCorruptionTests.entries(5_000), backend: backend,
                                        options: options, direct: direct)

        let reader = try TableTestSupport.openTable(path: path, backend: backend, direct: direct)
        let handles = try Self.dataBlockHandles(reader)
        #expect(handles.count > 3)
        for h in handles {
            let async = try await reader.readBlockAsync(h, ring: ring)
            let sync = try reader.readBlock(h)
            #expect(Self.bytes(async) == Self.bytes(sync), "block at \(h.offset)")
            #expect(async.fileOffset == h.offset)
        }

        let victim = handles[2]
        try TableTestSupport.flipByte(path: path, at: victim.offset + victim.size / 2)
        let damaged = try TableTestSupport.openTable(path: path, backend: backend, direct: direct)
        do {
            _ = try await damaged.readBlockAsync(victim, ring: ring)
            Issue.record("damage went unnoticed")
        } catch DBError.corruption(let reportedPath, let offset, let reason) {
            #expect(reportedPath == path && offset == victim.offset, "\(reason)")
        }
        // Its neighbours still read.
        _ = try await damaged.readBlockAsync(handles[1], ring: ring)
        _ = try await damaged.readBlockAsync(handles[3], ring: ring)
    }
}
