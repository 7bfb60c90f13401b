import RingIO

/// Reads every record of a WAL or MANIFEST file into memory and walks it.
///
/// Torn-tail rule (docs/FORMAT.md §Log records): a record that fails its
/// header or checksum is a *torn tail* when the extent its header claims
/// runs past the end of the file or only zero bytes follow that extent —
/// the writer died mid-append into the preallocated, zero-filled file.
/// Anything else is corruption in the middle of the log and is reported
/// with the offset.
package struct LogReader {
    package let path: String
    package let data: [UInt8]

    package struct Outcome {
        package var payloads: [[UInt8]]
        /// Where the valid prefix ends (the next append goes here).
        package var validLength: Int
        /// Set when a torn tail was dropped: its offset and why.
        package var tornTail: (offset: Int, reason: String)?
    }

    package init(path: String, backend: any IOBackend) throws {
        self.path = path
        let file: File
        do { file = try backend.openFile(path, .read, direct: .off) } catch { throw DBError.io(error) }
        defer { try? file.close() }
        do {
            let size = Int(try file.size())
            var bytes = [UInt8](repeating: 0, count: size)
            let n = try bytes.withUnsafeMutableBytes { try backend.read(fd: file.fd, into: $0, offset: 0) }
            data = Array(bytes.prefix(n))
        } catch let e as IOError {
            throw DBError.io(e.at(path: path))
        }
    }

    package init(path: String, data: [UInt8]) {
        self.path = path
        self.data = data
    }

    /// All records of the valid prefix. With `strict`, corruption before the
    /// tail throws `DBError.corruption`; without it the valid prefix is
    /// returned and the rest dropped, like a torn tail.
    ///
    /// `preallocated` says how the file was written. A preallocated (WAL)
    /// file can hold a complete-looking record with a bad checksum followed
    /// by zeros after a crash; an append-only file (MANIFEST) cannot — there
    /// only a record cut off by the end of the file is a torn tail, and a
    /// complete record that fails its checksum is corruption.
    package func readAll(strict: Bool, preallocated: Bool = true) throws -> Outcome {
        try data.withUnsafeBytes { raw in
            var outcome = Outcome(payloads: [], validLength: 0, tornTail: nil)
            var offset = 0
            while true {
                switch LogRecord.parse(raw, at: offset) {
                case .record(let payload, let next):
                    outcome.payloads.append(Array(payload))
                    offset = next
                case .end:
                    if !LogReader.isAllZero(raw, from: offset) {
                        if raw.count - offset >= LogRecord.headerSize && strict {
                            throw DBError.corruption(path: path, offset: UInt64(offset),
                                                     reason: "zero record header followed by data")
                        }
                        outcome.tornTail = (offset, "partial record header")
                    }
                    outcome.validLength = offset
                    return outcome
                case .bad(let reason):
                    // A damaged length field can make a middle record look
                    // like a cut-off tail; a valid record after it proves
                    // it is not the tail.
                    let torn = (preallocated
                        ? LogReader.isTornTail(raw, at: offset)
                        : LogReader.runsPastEnd(raw, at: offset))
                        && !LogReader.validRecordFollows(raw, after: offset)
                    if !torn && strict {
                        throw DBError.corruption(path: path, offset: UInt64(offset), reason: reason)
                    }
                    outcome.tornTail = (offset, reason)
                    outcome.validLength = offset
                    return outcome
                }
            }
        }
    }

    /// A bad record is a torn tail when the extent its header claims runs
    /// past the end of the file, or when only zero bytes follow that
    /// extent: it was the last append, cut short by a crash.
    static func isTornTail(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        if runsPastEnd(raw, at: offset) { return true }
        return isAllZero(raw, from: recordEnd(raw, at: offset))
    }

    /// Whether every byte from `start` on is zero; eight bytes at a time,
    /// since a preallocated log is mostly zero tail.
    static func isAllZero(_ raw: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var i = start
        while i < raw.count && i % 8 != 0 {
            if raw[i] != 0 { return false }
            i += 1
        }
        while i + 8 <= raw.count {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < raw.count {
            if raw[i] != 0 { return false }
            i += 1
        }
        return true
    }

    /// Whether a complete record with a good checksum starts anywhere after
    /// `offset` (only asked on the error path).
    static func validRecordFollows(_ raw: UnsafeRawBufferPointer, after offset: Int) -> Bool {
        var p = offset + 1
        while p + LogRecord.headerSize <= raw.count {
            if raw[p + 8] == LogRecord.typeFull, case .record = LogRecord.parse(raw, at: p) { return true }
            p += 1
        }
        return false
    }

    /// The header is cut off, or claims more bytes than the file has.
    static func runsPastEnd(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        raw.count - offset < LogRecord.headerSize || recordEnd(raw, at: offset) > raw.count
    }

    private static func recordEnd(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int {
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        return offset + LogRecord.headerSize + length
    }
}
