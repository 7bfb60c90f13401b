import Testing
@testable import RingKV

@Suite struct LogReaderTests {
    func framed(_ payloads: [[UInt8]]) -> [UInt8] {
        var w = ByteWriter()
        for p in payloads { p.withUnsafeBytes { LogRecord.encode($0, into: &w) } }
        return w.bytes
    }

    let payloads: [[UInt8]] = [bytes("first"), [], [UInt8](repeating: 9, count: 1000), bytes("last record")]

    @Test func readsEveryRecordAndStopsAtZeroPadding() throws {
        let log = framed(payloads) + [UInt8](repeating: 0, count: 4096)
        let outcome = try LogReader(path: "mem", data: log).readAll(strict: true)
        #expect(outcome.payloads == payloads)
        #expect(outcome.tornTail == nil)
        #expect(outcome.validLength == framed(payloads).count)
    }

    @Test func tornTailAtEveryByteOffsetRecoversThePrefix() throws {
        let full = framed(payloads)
        let prefix = framed(Array(payloads.dropLast()))
        for cut in prefix.count..<full.count {
            // The file as a crash might leave it: the tail cut, zeros after
            // (the log was preallocated).
            let torn = Array(full.prefix(cut)) + [UInt8](repeating: 0, count: full.count - cut + 100)
            let outcome = try LogReader(path: "mem", data: torn).readAll(strict: true)
            #expect(outcome.payloads == Array(payloads.dropLast()), "cut at \(cut)")
            #expect(outcome.validLength == prefix.count)
            // Without preallocation: the file just ends.
            let short = try LogReader(path: "mem", data: Array(full.prefix(cut))).readAll(strict: true)
            #expect(short.payloads == Array(payloads.dropLast()), "short cut at \(cut)")
        }
    }

    @Test func corruptionInTheMiddleIsReportedWithTheOffset() throws {
        var log = framed(payloads)
        let secondRecordOffset = LogRecord.headerSize + payloads[0].count
        let thirdRecordOffset = secondRecordOffset + LogRecord.headerSize
        log[thirdRecordOffset + LogRecord.headerSize + 10] ^= 0xFF
        #expect {
            try LogReader(path: "wal.log", data: log).readAll(strict: true)
        } throws: { error in
            guard case DBError.corruption(let path, let offset, _) = error else { return false }
            return path == "wal.log" && offset == UInt64(thirdRecordOffset)
        }
        let lenient = try LogReader(path: "wal.log", data: log).readAll(strict: false)
        #expect(lenient.payloads == Array(payloads.prefix(2)))
    }
}
