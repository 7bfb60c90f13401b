import RingIO
import Testing
@testable import RingKV

@Suite struct LogReaderTests {
    func framed(_ payloads: [[UInt8]]) -> [UInt8] {
        var w = ByteWriter()
        for p in payloads { p.withUnsafeBytes { LogRecord.encode($0, into: &w) } }
        return w.bytes
    }

    func syncPoint(_ syncedBytes: UInt64) -> [UInt8] {
        var record = [UInt8](repeating: 0, count: LogRecord.syncPointRecordSize)
        record.withUnsafeMutableBytes { LogRecord.encodeSyncPoint(syncedBytes, into: $0.baseAddress!) }
        return record
    }

    let payloads: [[UInt8]] = [bytes("first"), [], [UInt8](repeating: 9, count: 1000), bytes("last record")]

    @Test func readsEveryRecordAndStopsAtZeroPadding() throws {
        let log = framed(payloads) + [UInt8](repeating: 0, count: 4096)
        let (read, ending) = try LogReader(path: "mem", data: log).readAll(evidence: .syncPoints, strict: true)
        #expect(read == payloads)
        #expect(ending.dropped == nil)
        #expect(ending.validBytes == UInt64(framed(payloads).count))
    }

    @Test func tornTailAtEveryByteOffsetRecoversThePrefix() throws {
        let full = framed(payloads)
        let prefix = framed(Array(payloads.dropLast()))
        for cut in prefix.count..<full.count {
            // The file as a crash might leave it: the tail cut, zeros after
            // (the log was preallocated).
            let torn = Array(full.prefix(cut)) + [UInt8](repeating: 0, count: full.count - cut + 100)
            for evidence in [DurabilityEvidence.syncPoints, .everyRecord] {
                let (read, ending) = try LogReader(path: "mem", data: torn).readAll(evidence: evidence, strict: true)
                #expect(read == Array(payloads.dropLast()), "cut at \(cut)")
                #expect(ending.validBytes == UInt64(prefix.count))
                // Without preallocation: the file just ends.
                let short = try LogReader(path: "mem", data: Array(full.prefix(cut)))
                    .readAll(evidence: evidence, strict: true)
                #expect(short.payloads == Array(payloads.dropLast()), "short cut at \(cut)")
            }
        }
    }

    /// The damage a power loss leaves when the kernel wrote a later page of
    /// unsynced appends but not an earlier one: a hole, then valid records.
    /// Nothing after the hole is proven synced, so it is a torn tail; the
    /// dropped stretch runs to the last non-zero byte.
    @Test func holeBeforeUnsyncedRecordsIsATornTail() throws {
        let head = framed([bytes("synced")])
        let tail = framed([bytes("unsynced-1"), [UInt8](repeating: 7, count: 5000), bytes("unsynced-3")])
        var log = head + tail + [UInt8](repeating: 0, count: 8192)
        for i in head.count..<(head.count + 40) { log[i] = 0 }
        let (read, ending) = try LogReader(path: "wal", data: log).readAll(evidence: .syncPoints, strict: true)
        #expect(read == [bytes("synced")])
        let dropped = try #require(ending.dropped)
        #expect(dropped.offset == UInt64(head.count))
        #expect(dropped.endOffset == UInt64(head.count + tail.count))
        #expect(!dropped.isCorruption)
        #expect(dropped.reason.contains("zero record header followed by data"))
    }

    /// A sync point after the damage claims the damaged bytes were synced:
    /// corruption, reported at the first bad byte; lenient reading keeps
    /// the prefix and marks the drop as corruption.
    @Test func damageASyncPointProvesSyncedIsCorruption() throws {
        var log = framed([bytes("a"), bytes("b-record")])
        let second = LogRecord.headerSize + 1
        let syncedEnd = UInt64(log.count)
        log += syncPoint(syncedEnd) + framed([bytes("c")])
        log[second + LogRecord.headerSize + 2] ^= 0xFF
        #expect {
            try LogReader(path: "wal.log", data: log).readAll(evidence: .syncPoints, strict: true)
        } throws: { error in
            guard case DBError.corruption(let path, let offset, let reason) = error else { return false }
            return path == "wal.log" && offset == UInt64(second) && reason.contains("synced up to offset \(syncedEnd)")
        }
        let lenient = try LogReader(path: "wal.log", data: log).readAll(evidence: .syncPoints, strict: false)
        #expect(lenient.payloads == [bytes("a")])
        #expect(lenient.ending.dropped?.isCorruption == true)
        // A sync point that claims only bytes before the damage proves nothing.
        var unproven = framed([bytes("a")])
        unproven += syncPoint(UInt64(unproven.count)) + framed([bytes("b-record"), bytes("c")])
        unproven[unproven.count - 14] ^= 0xFF
        let torn = try LogReader(path: "wal.log", data: unproven).readAll(evidence: .syncPoints, strict: true)
        #expect(torn.payloads == [bytes("a")])
        #expect(torn.ending.dropped?.isCorruption == false)
    }

    /// In a MANIFEST every record was synced before the next: any valid
    /// record after damage makes it corruption; damage with nothing valid
    /// after it (zeros or garbage inside the file size) is a torn append.
    @Test func manifestDamageFollowedByARecordIsCorruptionOtherwiseTorn() throws {
        var log = framed(payloads)
        let secondRecordOffset = LogRecord.headerSize + payloads[0].count
        let thirdRecordOffset = secondRecordOffset + LogRecord.headerSize
        log[thirdRecordOffset + LogRecord.headerSize + 10] ^= 0xFF
        #expect {
            try LogReader(path: "MANIFEST", data: log).readAll(evidence: .everyRecord, strict: true)
        } throws: { error in
            guard case DBError.corruption(let path, let offset, _) = error else { return false }
            return path == "MANIFEST" && offset == UInt64(thirdRecordOffset)
        }
        let lenient = try LogReader(path: "MANIFEST", data: log).readAll(evidence: .everyRecord, strict: false)
        #expect(lenient.payloads == Array(payloads.prefix(2)))

        let complete = framed(Array(payloads.prefix(3)))
        let last = framed([payloads[3]])
        var seed = SeededRandom(seed: 7)
        var zeroHeader = complete + last
        for i in complete.count..<(complete.count + LogRecord.headerSize) { zeroHeader[i] = 0 }
        let garbage = complete + (0..<100).map { _ in UInt8.random(in: 0...255, using: &seed) }
        for damaged in [zeroHeader, garbage, complete + [UInt8](repeating: 0, count: 50)] {
            let (read, ending) = try LogReader(path: "MANIFEST", data: damaged).readAll(evidence: .everyRecord, strict: true)
            #expect(read == Array(payloads.prefix(3)))
            #expect(ending.validBytes == UInt64(complete.count))
            #expect(ending.dropped?.isCorruption != true)
        }
    }

    /// Through a real file, records larger than the read window and a
    /// zero tail longer than it read back exactly (the reader streams).
    @Test func streamsRecordsLargerThanTheWindowFromAFile() throws {
        let dir = try TempDir()
        let path = dir.sub("000001.log")
        let big = (0..<(LogReader.chunkBytes * 5 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let records = [bytes("head"), big, [UInt8](repeating: 3, count: LogReader.chunkBytes - 5), bytes("tail")]
        var data = framed(records)
        data += [UInt8](repeating: 0, count: 3 * LogReader.chunkBytes)
        let file = try File.open(path, [.write, .create, .truncate])
        try data.withUnsafeBytes { try PosixBackend().write(fd: file.fd, from: $0, offset: 0) }
        try file.close()
        let reader = try LogReader(path: path, backend: PosixBackend())
        let (read, ending) = try reader.readAll(evidence: .syncPoints, strict: true)
        #expect(read == records)
        #expect(ending.dropped == nil)
        #expect(try reader.containsValidRecord())
        #expect(try !reader.holdsOnlyZeros())
    }

    @Test func containsValidRecordFindsOneBehindAHole() throws {
        var log = framed([bytes("x"), bytes("y")])
        for i in 0..<(LogRecord.headerSize + 1) { log[i] = 0 }  // the whole first record
        #expect(try LogReader(path: "wal", data: log).containsValidRecord())
        #expect(try !LogReader(path: "wal", data: [UInt8](repeating: 0, count: 100)).containsValidRecord())
        #expect(try LogReader(path: "wal", data: [UInt8](repeating: 0, count: 100)).holdsOnlyZeros())
    }
}
