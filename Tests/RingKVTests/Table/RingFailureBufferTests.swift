import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// io_uring_enter fails after the kernel took a table write or a batched
/// read (I/O in flight, issue #15 item 7): the call fails, and the memory
/// those operations point at — `AlignedChunkWriter`'s chunks,
/// `AlignedReadPlan`'s shared buffer — is never freed, even after its owner
/// is gone. The late touch reads it as the kernel still could; under
/// AddressSanitizer (tools/test-asan) a freed buffer is reported there.
@Suite struct RingFailureBufferTests {
    /// O_DIRECT table chunks go through the ring (buffered ones are plain
    /// pwrites: `URingBackend.writeBatchAlone`).
    @Test func tableChunksInFlightAtARingFailureAreKept() throws {
        let dir = try TempDir()
        guard !TableTestSupport.isOnTmpfs(dir.path) else { return }  // no O_DIRECT on tmpfs
        let plan = FaultPlan([.init(kind: .ringFailure, nth: 1, errno: ENXIO)])
        let backend = try URingBackend(faults: plan)
        let keptBefore = Quarantine.keptCount
        do {
            let file = try File.open(dir.sub("t.sst"), [.write, .create, .truncate], direct: .required)
            defer { try? file.close() }
            let writer = AlignedChunkWriter(file: file, backend: backend, chunkSizeBytes: 4096, chunksPerBatch: 4)
            let data = [UInt8](repeating: 0xA5, count: 4 * 4096)
            #expect { try writer.append(data) } throws: { error in
                guard case DBError.io(let io) = error else { return false }
                return io.errno == ENXIO && io.memoryMayStillBeInUse
            }
        }
        #expect(Quarantine.keptCount >= keptBefore + 4 + 1, "four chunks and the ring")
        #expect(!plan.memoryInFlightAtFailures.ranges.isEmpty)
        plan.touchMemoryInFlightAtFailures()
    }

    @Test func batchedReadBufferInFlightAtARingFailureIsKept() throws {
        let dir = try TempDir()
        let path = dir.sub("data")
        try writeWholeFile(path, [UInt8](repeating: 0x3C, count: 64 << 10))
        let plan = FaultPlan([.init(kind: .ringFailure, nth: 1, errno: ENXIO)])
        let backend = try URingBackend(faults: plan)
        let keptBefore = Quarantine.keptCount
        do {
            let file = try File.open(path, .read)
            defer { try? file.close() }
            var reads = AlignedReadPlan(maxRequestBytes: 4096)
            for i in 0..<8 { _ = reads.add(file, offset: UInt64(i * 8192), length: 4096) }
            #expect(reads.requests.count == 8)
            #expect { _ = try reads.execute(backend: backend) } throws: { error in
                guard case DBError.io(let io) = error else { return false }
                return io.memoryMayStillBeInUse
            }
        }
        #expect(Quarantine.keptCount >= keptBefore + 2, "the buffer and the ring")
        plan.touchMemoryInFlightAtFailures()
    }

    /// A lone O_DIRECT block read (the point-lookup path) whose ring fails
    /// with the read in flight keeps its buffer.
    @Test func loneDirectBlockReadInFlightAtARingFailureIsKept() throws {
        let dir = try TempDir()
        guard !TableTestSupport.isOnTmpfs(dir.path) else { return }  // no O_DIRECT on tmpfs
        let path = dir.sub("t.sst")
        let entries = ReadTestSupport.tableEntries(0..<200, tag: "r", firstSequence: 1)
        _ = try TableTestSupport.writeTable(path: path, entries: entries, backend: try URingBackend(), direct: .required)
        // Opening the table submits reads of its own (footer, index,
        // filter): the failure is aimed at the first submission after them.
        var opened: (FaultPlan, TableReader)?
        for nth in 2...8 where opened == nil {
            let plan = FaultPlan([.init(kind: .ringFailure, nth: nth, errno: ENXIO)])
            if let reader = try? TableTestSupport.openTable(path: path, backend: try URingBackend(faults: plan),
                                                            direct: .required) {
                opened = (plan, reader)
            }
        }
        guard let (plan, reader) = opened else {
            Issue.record("the table did not open with a ring failure at submissions 2...8")
            return
        }
        let keptBefore = Quarantine.keptCount
        do {
            let index = reader.indexBlock.makeIterator()
            try index.seekToFirst()
            let handle = try reader.decodeIndexValue(index.value)
            #expect { _ = try reader.readBlock(handle) } throws: { error in
                guard case DBError.io(let io) = error else { return false }
                return io.memoryMayStillBeInUse
            }
        }
        #expect(Quarantine.keptCount >= keptBefore + 2, "the block buffer and the ring")
        plan.touchMemoryInFlightAtFailures()
    }

    /// Without operations in flight (EAGAIN before the kernel took
    /// anything) the submission is retried and the write completes.
    @Test func ringRefusingTheSubmissionIsRetried() throws {
        let dir = try TempDir()
        let plan = FaultPlan([.init(kind: .ringBusy, nth: 1, errno: EAGAIN)])
        let backend = try URingBackend(faults: plan)
        let file = try File.open(dir.sub("t.sst"), [.write, .create, .truncate])
        defer { try? file.close() }
        let writer = AlignedChunkWriter(file: file, backend: backend, chunkSizeBytes: 4096, chunksPerBatch: 2)
        try writer.append([UInt8](repeating: 1, count: 2 * 4096))  // EAGAIN is retried
        try writer.finish()
        #expect(try file.size() == 2 * 4096)
        #expect(try readWholeFile(dir.sub("t.sst")) == [UInt8](repeating: 1, count: 2 * 4096))
    }
}
