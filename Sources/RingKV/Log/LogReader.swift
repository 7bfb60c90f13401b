import RingIO

/// Reads every record of a WAL or MANIFEST file into memory and walks it.
///
/// Torn-tail rule (docs/FORMAT.md §Log records): a record that fails its
/// header or checksum is a *torn tail* when the extent its header claims
/// runs past the end of the file or only zero bytes follow that extent —
/// the writer died mid-append into the preallocated, zero-filled file.
/// Anything else is corruption in the middle of the log and is reported
/// with the offset.
struct LogReader {
    let path: String
    let data: [UInt8]

    struct Outcome {
        var payloads: [[UInt8]]
        /// Where the valid prefix ends (the next append goes here).
        var validLength: Int
        /// Set when a torn tail was dropped: its offset and why.
        var tornTail: (offset: Int, reason: String)?
    }

    init(path: String, backend: any IOBackend) throws {
        self.path = path
        let file: File
        do { file = try File.open(path, .read) } catch { throw DBError.io(error) }
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

    init(path: String, data: [UInt8]) {
        self.path = path
        self.data = data
    }

    /// All records of the valid prefix. With `strict`, corruption before the
    /// tail throws `DBError.corruption`; without it the valid prefix is
    /// returned and the rest dropped, like a torn tail.
    func readAll(strict: Bool) throws -> Outcome {
        try data.withUnsafeBytes { raw in
            var outcome = Outcome(payloads: [], validLength: 0, tornTail: nil)
            var offset = 0
            while true {
                switch LogRecord.parse(raw, at: offset) {
                case .record(let payload, let next):
                    outcome.payloads.append(Array(payload))
                    offset = next
                case .end:
                    let rest = raw[offset...]
                    if rest.contains(where: { $0 != 0 }) {
                        if rest.count >= LogRecord.headerSize && strict {
                            throw DBError.corruption(path: path, offset: UInt64(offset),
                                                     reason: "zero record header followed by data")
                        }
                        outcome.tornTail = (offset, "partial record header")
                    }
                    outcome.validLength = offset
                    return outcome
                case .bad(let reason):
                    if !LogReader.isTornTail(raw, at: offset) && strict {
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
        guard raw.count - offset >= LogRecord.headerSize else { return true }
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        let end = offset + LogRecord.headerSize + length
        if end >= raw.count { return true }
        return !raw[end...].contains(where: { $0 != 0 })
    }
}
