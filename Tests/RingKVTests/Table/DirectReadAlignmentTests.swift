import RingIO
import Testing
@testable import RingKV

/// O_DIRECT reads are aligned to what the kernel asks for the file
/// (`File.directReadAlignment`, statx STATX_DIOALIGN), not to whole pages:
/// a 4,126-byte block is read as 4.5 or 5 KiB on a 512-byte-sector
/// device, not as two pages, and every read still returns the right bytes.
@Suite struct DirectReadAlignmentTests {
    @Test func directFilesKnowTheirReadAlignment() throws {
        let dir = try TempDir("ringkv-dio-align")
        let path = dir.sub("f")
        let file = try File.open(path, [.readWrite, .create], direct: .preferred)
        defer { try? file.close() }
        if file.isDirect {
            let unit = file.directReadAlignment
            #expect(unit >= 512 && unit <= AlignedBuffer.alignment && unit & (unit - 1) == 0, "\(unit)")
        } else {
            #expect(file.directReadAlignment == 1)
        }
        let buffered = try File.open(path, .read, direct: .off)
        defer { try? buffered.close() }
        #expect(buffered.directReadAlignment == 1)
    }

    /// 1000-byte incompressible values: four entries make a 4,1xx-byte
    /// block that spans two pages.
    static func entries(_ count: Int) -> [(key: [UInt8], value: [UInt8])] {
        var rng = SplitMix64(seed: 7)
        return (0..<count).map { i in
            (InternalKey.make(ReadTestSupport.key(i), UInt64(i + 1), .value),
             (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
    }

    @Test func aPointReadFetchesTheAlignedSpanOfItsBlockOnly() throws {
        let dir = try TempDir("ringkv-dio-read")
        let backend = CountingBackend(try URingBackend())
        let entries = Self.entries(400)
        let path = dir.sub("1.sst")
        try TableTestSupport.writeTable(path: path, entries: entries, backend: backend)
        let reader = try TableTestSupport.openTable(path: path, backend: backend, direct: .preferred)
        guard reader.file.isDirect else { return }  // tmpfs: no O_DIRECT to test
        let unit = reader.file.directReadAlignment
        var readsChecked = 0
        for i in stride(from: 0, to: entries.count, by: 13) {
            backend.resetCounts()
            let found = try reader.get(userKey: ReadTestSupport.key(i), snapshot: UInt64.max >> 8)
            #expect(found == .found(entries[i].value), "key \(i)")
            guard backend.readRequests == 1 else { continue }
            // The block's stored bytes rounded out to the alignment: at
            // most one unit more than the block on either side.
            let key = ReadTestSupport.key(i)
            let located = try key.withUnsafeBytes { k in try reader.locate(userKey: k, snapshot: UInt64.max >> 8) }
            let handle = try #require(located)
            let u = UInt64(unit)
            let start: UInt64 = handle.offset / u * u
            let end: UInt64 = (handle.offset + handle.sizeWithTrailer + u - 1) / u * u
            let expected = Int(end - start)
            #expect(backend.bytesRequested == expected, "key \(i): \(backend.bytesRequested) bytes read")
            if unit < AlignedBuffer.alignment { #expect(backend.bytesRequested < 2 * AlignedBuffer.alignment) }
            readsChecked += 1
        }
        #expect(readsChecked > 20)
    }

    /// A read plan (multiGet, async gets, scans) places a direct file's
    /// range at the file's alignment, and the bytes come back right.
    @Test func aReadPlanAlignsDirectRangesToTheFilesUnit() throws {
        let dir = try TempDir("ringkv-dio-plan")
        let path = dir.sub("f")
        let pattern = (0..<3 * 4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let writer = try File.open(path, [.readWrite, .create], direct: .off)
        try pattern.withUnsafeBytes { try URingBackend().write(fd: writer.fd, from: $0, offset: 0) }
        try writer.close()
        let file = try File.open(path, .read, direct: .preferred)
        defer { try? file.close() }
        guard file.isDirect else { return }
        let unit = UInt64(file.directReadAlignment)
        var plan = AlignedReadPlan()
        let span = plan.add(file, offset: 1000, length: 4126)
        #expect(plan.requests[0].start == 1000 / unit * unit)
        #expect(plan.requests[0].end == (5126 + unit - 1) / unit * unit)
        let result = try plan.execute(backend: try URingBackend())
        try result.withBytes(span) { bytes in #expect(Array(bytes) == Array(pattern[1000..<5126])) }
    }

    /// Batched reads (multiGet's plan, scans' windows) of a direct file
    /// return every block intact at the finer alignment.
    @Test func batchedDirectReadsReturnEveryBlock() throws {
        let dir = try TempDir("ringkv-dio-batch")
        let backend = try URingBackend()
        let entries = Self.entries(2_000)
        let path = dir.sub("1.sst")
        try TableTestSupport.writeTable(path: path, entries: entries, backend: backend)
        let reader = try TableTestSupport.openTable(path: path, backend: backend, direct: .preferred)
        let all = try TableTestSupport.scan(reader.makeIterator(readAhead: .adaptive))
        #expect(all.count == entries.count)
        #expect(zip(all, entries).allSatisfy { $0.key == $1.key && $0.value == $1.value })
        try reader.verifyChecksums()
    }
}
