import RingIO
import Testing
@testable import RingKV

/// Reads planned across several tables go out as one `readBatch`, stay
/// aligned for O_DIRECT, and report failures per block.
@Suite struct BatchedTableReadTests {
    /// Three tables of small blocks, opened through a counting backend.
    struct Tables {
        let dir: TempDir
        let backend: CountingBackend
        let readers: [TableReader]
        /// Every data block handle of each table, in file order.
        let handles: [[BlockHandle]]
    }

    static func makeTables(direct: File.DirectIO) throws -> Tables {
        let dir = try TempDir("ringkv-batched")
        let backend = CountingBackend(try URingBackend())
        var options = TableBuilderOptions()
        options.blockSizeBytes = 1024
        var readers: [TableReader] = []
        var handles: [[BlockHandle]] = []
        for t in 0..<3 {
            let path = dir.sub("\(t).sst")
            let entries = ReadTestSupport.tableEntries(t * 1000..<(t * 1000 + 600), tag: "t\(t)", firstSequence: 1)
            try TableTestSupport.writeTable(path: path, entries: entries, backend: backend, options: options, direct: direct)
            let reader = try TableTestSupport.openTable(path: path, backend: backend, direct: direct, fileNumber: UInt64(10 + t))
            readers.append(reader)
            var list: [BlockHandle] = []
            let index = reader.indexBlock.makeIterator()
            try index.seekToFirst()
            while index.isValid {
                list.append(try reader.decodeIndexValue(index.value))
                try index.next()
            }
            handles.append(list)
        }
        return Tables(dir: dir, backend: backend, readers: readers, handles: handles)
    }

    static func directModes(_ dir: String) -> [File.DirectIO] {
        TableTestSupport.isOnTmpfs(dir) ? [.off] : [.off, .required]
    }

    @Test func blocksOfSeveralTablesComeFromOneReadBatchAndMatchSingleReads() throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let probe = try TempDir()
        for direct in Self.directModes(probe.path) {
            let t = try Self.makeTables(direct: direct)
            #expect(t.handles.allSatisfy { $0.count > 20 })
            var plan = AlignedReadPlan()
            var wanted: [(table: Int, handle: BlockHandle, span: Int)] = []
            for _ in 0..<40 {
                let table = Int(rng.next() % 3)
                let handle = t.handles[table][Int(rng.next() % UInt64(t.handles[table].count))]
                wanted.append((table, handle, try t.readers[table].planRead(handle, into: &plan)))
            }
            t.backend.resetCounts()
            let result = try plan.execute(backend: t.backend)
            #expect(t.backend.readBatchCalls == 1, "seed \(seed)")
            #expect(t.backend.readRequests == result.requestCount)
            #expect(result.requestCount <= 40)
            for w in wanted {
                let batched = try t.readers[w.table].decodeBlock(result, span: w.span)
                let single = try t.readers[w.table].readBlocks([w.handle])[0]
                #expect(Array(batched.contents) == Array(single.contents), "seed \(seed)")
                #expect(batched.fileOffset == w.handle.offset)
            }
        }
    }

    /// Adjacent blocks become one request: whole units of the file's
    /// O_DIRECT alignment (`File.directReadAlignment`), the exact byte
    /// range for a buffered file.
    @Test func adjacentBlocksCoalesceIntoOneRequest() throws {
        let probe = try TempDir()
        for direct in Self.directModes(probe.path) {
            let t = try Self.makeTables(direct: direct)
            let reader = t.readers[0]
            let run = Array(t.handles[0][2..<12])
            var plan = AlignedReadPlan()
            for h in run { _ = try reader.planRead(h, into: &plan) }
            #expect(plan.requests.count == 1)
            let request = plan.requests[0]
            let runEnd = run[9].offset + run[9].sizeWithTrailer
            if reader.file.isDirect {
                let unit = UInt64(reader.file.directReadAlignment)
                #expect(request.start == run[0].offset / unit * unit)
                #expect(request.end == (runEnd + unit - 1) / unit * unit)
            } else {
                #expect(request.start == run[0].offset && request.end == runEnd)
            }
            let result = try plan.execute(backend: t.backend)
            for (span, h) in run.enumerated() {
                #expect(try reader.decodeBlock(result, span: span).contents.count > 0)
                #expect(try reader.decodeBlock(result, span: span).fileOffset == h.offset)
            }
        }
        let t = try Self.makeTables(direct: .off)
        let reader = t.readers[0]

        // Blocks far apart, or added out of order, are separate requests.
        var scattered = AlignedReadPlan()
        for i in [20, 2, 40] { _ = try reader.planRead(t.handles[0][i], into: &scattered) }
        #expect(scattered.requests.count == 3)

        // A long run is split at maxRequestBytes.
        var capped = AlignedReadPlan(maxRequestBytes: 8192)
        for h in t.handles[0] { _ = try reader.planRead(h, into: &capped) }
        #expect(capped.requests.count > 1)
        #expect(capped.requests.allSatisfy { $0.lengthBytes <= 8192 + 4096 })
        let result = try capped.execute(backend: t.backend)
        for (span, h) in t.handles[0].enumerated() {
            #expect(try reader.decodeBlock(result, span: span).fileOffset == h.offset)
        }
    }

    @Test func aFailedRequestFailsOnlyTheBlocksItCarried() throws {
        let t = try Self.makeTables(direct: .off)
        var plan = AlignedReadPlan()
        let good = try t.readers[0].planRead(t.handles[0][3], into: &plan)
        let bad = try t.readers[1].planRead(t.handles[1][3], into: &plan)
        t.backend.failingFD.store(t.readers[1].file.fd, ordering: .relaxed)
        let result = try plan.execute(backend: t.backend)
        _ = try t.readers[0].decodeBlock(result, span: good)
        #expect {
            _ = try t.readers[1].decodeBlock(result, span: bad)
        } throws: { error in
            guard case .io(let e) = error as? DBError else { return false }
            return e.path == t.readers[1].path
        }
    }

    @Test func aReadPastTheEndOfTheFileIsReportedAsTruncation() throws {
        let t = try Self.makeTables(direct: .off)
        let reader = t.readers[0]
        var plan = AlignedReadPlan()
        let span = plan.add(reader.file, offset: reader.fileSizeBytes - 10, length: 100)
        let result = try plan.execute(backend: t.backend)
        #expect {
            try result.withBytes(span) { _ in }
        } throws: { error in
            guard case .corruption(_, _, let reason) = error as? DBError else { return false }
            return reason.contains("truncated")
        }
        // Handles outside the data area never reach the plan.
        #expect(throws: DBError.self) {
            _ = try reader.planRead(BlockHandle(offset: reader.dataEndOffset, size: 10), into: &plan)
        }
    }
}
