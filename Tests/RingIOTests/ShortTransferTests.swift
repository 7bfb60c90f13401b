#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO
import RingIOFaults

/// Injected short transfers (FaultPlan `shortRead`/`shortWrite`): every
/// completion reports half its bytes, so each backend's own resubmission
/// must finish every read and write — the bytes on disk and in memory are
/// exactly those of a run without faults.
@Suite("Short reads and writes, injected") struct ShortTransferTests {
    static let fileBytes = 1 << 20

    /// The file's bytes as four 256 KiB write requests from `source`.
    static func quarters(_ file: borrowing File, _ source: borrowing AlignedBuffer) -> [WriteRequest] {
        let quarter = fileBytes / 4
        return (0..<4).map { i in
            WriteRequest(fd: file.fd, offset: UInt64(i * quarter),
                         buffer: UnsafeRawBufferPointer(rebasing: source.bytes[i * quarter..<(i + 1) * quarter]))
        }
    }

    static func backends(_ plan: FaultPlan) throws -> [any IOBackend] {
        [try URingBackend(ringEntries: 8, shortTransfers: plan.shortTransfers),
         PosixBackend(shortTransfers: plan.shortTransfers)]
    }

    @Test func everyShortWriteAndReadIsCompletedByResubmission() throws {
        let plan = FaultPlan([FaultPlan.Rule(shortTransfer: .shortWrite, sticky: true),
                              FaultPlan.Rule(shortTransfer: .shortRead, sticky: true)])
        for backend in try Self.backends(plan) {
            try withTemporaryDirectory { dir in
                let path = dir + "/short"
                let file = try File.open(path, [.readWrite, .create, .truncate])
                defer { try? file.close() }
                let source = AlignedBuffer(capacity: Self.fileBytes)
                fillPattern(source.bytes, fileOffset: 0)
                let before = plan.injectedCount
                // Four 256 KiB writes in one batch, then one plain write over the first 64 KiB.
                let quarter = Self.fileBytes / 4
                try backend.writeBatch(Self.quarters(file, source))
                try backend.write(fd: file.fd, from: UnsafeRawBufferPointer(rebasing: source.bytes[0..<65536]), offset: 0)
                let afterWrites = plan.injectedCount
                #expect(afterWrites > before, "\(backend.name): no write was reported short")

                // Independent check of the file through plain pread.
                var onDisk = [UInt8](repeating: 0, count: Self.fileBytes)
                let n = onDisk.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, $0.count, 0) }
                #expect(n == Self.fileBytes)
                #expect(onDisk.withUnsafeBytes { firstPatternMismatch($0, fileOffset: 0) } == nil, "\(backend.name)")

                // Reads: one plain, one batch, one submitted and harvested later.
                let target = AlignedBuffer(capacity: Self.fileBytes)
                #expect(try backend.read(fd: file.fd, into: target.bytes, offset: 0) == Self.fileBytes)
                #expect(firstPatternMismatch(UnsafeRawBufferPointer(target.bytes), fileOffset: 0) == nil, "\(backend.name)")
                var batch = (0..<4).map { i in
                    ReadRequest(fd: file.fd, offset: UInt64(i * quarter), length: quarter,
                                buffer: target.pointer + i * quarter)
                }
                memset(target.pointer, 0, Self.fileBytes)
                try backend.readBatch(&batch)
                #expect(batch.allSatisfy { $0.error == nil && $0.bytesRead == quarter }, "\(backend.name)")
                #expect(firstPatternMismatch(UnsafeRawBufferPointer(target.bytes), fileOffset: 0) == nil, "\(backend.name)")
                let shared = SharedAlignedBuffer(capacity: quarter)
                let pending = try backend.submitReads(
                    [ReadRequest(fd: file.fd, offset: UInt64(quarter), length: quarter, buffer: shared.pointer)],
                    buffer: shared)
                let results = try pending.wait()
                #expect(results[0].bytesRead == quarter && results[0].error == nil, "\(backend.name)")
                #expect(firstPatternMismatch(UnsafeRawBufferPointer(start: shared.pointer, count: quarter),
                                             fileOffset: UInt64(quarter)) == nil, "\(backend.name)")
                #expect(plan.injectedCount > afterWrites, "\(backend.name): no read was reported short")
            }
        }
    }

    /// `writeBatchAlone` (table chunks): plain pwrites for a buffered
    /// file, the ring for O_DIRECT; both finish every short write.
    @Test(arguments: [File.DirectIO.off, .preferred])
    func writeBatchAloneFinishesEveryShortWrite(direct: File.DirectIO) throws {
        let plan = FaultPlan([FaultPlan.Rule(shortTransfer: .shortWrite, sticky: true)])
        for backend in try Self.backends(plan) {
            try withTemporaryDirectory { dir in
                let file = try File.open(dir + "/alone", [.readWrite, .create, .truncate], direct: direct)
                defer { try? file.close() }
                let source = AlignedBuffer(capacity: Self.fileBytes)
                fillPattern(source.bytes, fileOffset: 0)
                let before = plan.injectedCount
                try backend.writeBatchAlone(Self.quarters(file, source), direct: file.isDirect)
                #expect(plan.injectedCount > before, "\(backend.name): no write was reported short")
                let check = try File.open(dir + "/alone", .read, direct: .off)
                defer { try? check.close() }
                var onDisk = [UInt8](repeating: 0, count: Self.fileBytes)
                let n = onDisk.withUnsafeMutableBytes { pread(check.fd, $0.baseAddress, $0.count, 0) }
                #expect(n == Self.fileBytes)
                #expect(onDisk.withUnsafeBytes { firstPatternMismatch($0, fileOffset: 0) } == nil,
                        "\(backend.name) direct \(file.isDirect)")
            }
        }
    }

    @Test func aShortReadAtTheEndOfTheFileStillStopsThere() throws {
        let plan = FaultPlan([FaultPlan.Rule(shortTransfer: .shortRead, sticky: true)])
        for backend in try Self.backends(plan) {
            try withTemporaryDirectory { dir in
                let path = dir + "/tail"
                try writePatternFile(path, sizeBytes: 10_000)
                let file = try File.open(path, [.read])
                defer { try? file.close() }
                let target = AlignedBuffer(capacity: 16384)
                #expect(try backend.read(fd: file.fd, into: target.bytes, offset: 4096) == 10_000 - 4096, "\(backend.name)")
                #expect(firstPatternMismatch(UnsafeRawBufferPointer(rebasing: target.bytes[0..<(10_000 - 4096)]),
                                             fileOffset: 4096) == nil, "\(backend.name)")
                #expect(plan.injectedCount > 0)
            }
        }
    }
}
