#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// How a log shows which of its bytes were durable: what separates a torn,
/// unsynced tail (dropped at recovery) from damage of synced bytes
/// (corruption). docs/FORMAT.md §Torn tail.
package enum DurabilityEvidence: Sendable {
    /// WAL: a sync-point record names the offset below which an fdatasync
    /// had made the log durable when the record was written. Batch records
    /// prove nothing: the kernel may write back any page of an unsynced
    /// group, in any order, before the power goes.
    case syncPoints
    /// MANIFEST: every record was fsynced before the next one was
    /// appended, so any valid record proves every byte before it durable.
    case everyRecord
}

/// The bytes after a log's last replayed record, when they are not a clean
/// end (zeros or end of file).
package struct DroppedTail: Sendable {
    /// The first byte not replayed (where the bad record or hole starts).
    package var offset: UInt64
    /// One past the last byte worth keeping: the last non-zero byte (a WAL
    /// is zero-filled ahead of its end) or the last byte of a record found
    /// past the damage.
    package var endOffset: UInt64
    package var reason: String
    /// false: nothing after `offset` is proven synced, so this is what a
    /// power loss leaves of unsynced appends (a torn tail). true: a later
    /// record proves bytes after `offset` were synced — damage, dropped
    /// only when the caller is not strict.
    package var isCorruption: Bool

    package var byteCount: UInt64 { endOffset - offset }
}

/// Reads a WAL or MANIFEST record by record, holding at most a window of
/// about `chunkBytes` (or one record, if larger) in memory: recovery never
/// loads a whole — up to 64 MiB preallocated — log.
///
/// A file that shrinks while it is read (the engine cuts a retired WAL to
/// its written end, MakeRoomForWrite.swift, while a follower or an older
/// reader may have it open) is read to its new end: a short read sets
/// `sizeBytes` to it and the step that met it starts again. Only zeros
/// were cut, so the log reads as it would have read before. Reads capped
/// at a published end (`readRecords(from:limit:)`) never reach past it;
/// a short read there is an I/O error.
///
/// Torn-tail rule (docs/FORMAT.md §Torn tail): reading stops at the first
/// position that is not a valid record and not a clean end. Everything from
/// there on is a *torn tail* — dropped, and reported so recovery can keep
/// the bytes — unless a valid record further on proves (by its
/// `DurabilityEvidence`) that bytes at or after that position had been
/// synced: then it is corruption, thrown with the offset when `strict`.
package final class LogReader {
    package let path: String
    /// The file's size at open, lowered when a read finds it shorter.
    package private(set) var sizeBytes: Int
    private let file: File?
    private let backend: (any IOBackend)?
    /// File bytes [windowStart, windowStart + window.count).
    private var window: [UInt8]
    private var windowStart = 0
    /// Reads never load bytes at or past this (a live log's published
    /// end, `readRecords(from:limit:)`); nil: the file's size.
    private var readCap: Int?
    static let chunkBytes = 1 << 20

    /// One valid record: its offset, its type and its payload (valid only
    /// inside the callback).
    package struct Record {
        package var offset: Int
        package var type: UInt8
        package var payload: UnsafeRawBufferPointer
        package var isSyncPoint: Bool { type == LogRecord.typeSyncPoint }
        /// For a sync point: the offset it proves durable.
        package var syncedBytes: UInt64 {
            isSyncPoint ? UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self)) : 0
        }
    }

    /// How reading ended.
    package struct Ending: Sendable {
        /// Where the valid records end (the next append would go here).
        package var validBytes: UInt64
        package var dropped: DroppedTail?
    }

    package init(path: String, backend: any IOBackend) throws {
        self.path = path
        self.backend = backend
        window = []
        do {
            let opened = try backend.openFile(path, .read, direct: .off)
            file = opened
            sizeBytes = Int(try opened.size())
        } catch {
            throw DBError.io(error.at(path: path))
        }
    }

    package init(path: String, data: [UInt8]) {
        self.path = path
        sizeBytes = data.count
        window = data
        file = nil
        backend = nil
    }

    // MARK: - Reading records

    /// Calls `each` for every valid record (full records and sync points)
    /// in order, then says how the log ends. With `strict`, damage that a
    /// later record proves was synced throws `DBError.corruption` (path and
    /// offset of the first bad byte); without it, it is returned as a
    /// dropped tail with `isCorruption` set.
    @discardableResult
    /// `start` is a record boundary to begin at (a follower resuming where
    /// its last catch-up stopped); 0 by default.
    package func read(evidence: DurabilityEvidence, strict: Bool, from start: Int = 0,
                      _ each: (Record) throws -> Void) throws -> Ending {
        var offset = start
        while true {
            do {
                switch try step(at: offset) {
                case .record(let header):
                    try withBytes(offset + LogRecord.headerSize, header.length) { payload in
                        try each(Record(offset: offset, type: header.type, payload: payload))
                    }
                    offset += LogRecord.headerSize + header.length
                case .end:
                    return Ending(validBytes: UInt64(offset), dropped: nil)
                case .bad(let reason):
                    let tail = try scanTail(from: offset, evidence: evidence)
                    let proven = tail.provenDurableBytes > offset
                    if proven && strict {
                        throw DBError.corruption(path: path, offset: UInt64(offset), reason: reason
                            + "; a later record shows the log was synced up to offset \(tail.provenDurableBytes)")
                    }
                    let dropped = DroppedTail(offset: UInt64(offset), endOffset: UInt64(max(tail.endBytes, offset)),
                                              reason: reason, isCorruption: proven)
                    return Ending(validBytes: UInt64(offset), dropped: dropped)
                }
            } catch is FileShrank {
                // `offset` is still the record boundary the step began at.
                continue
            }
        }
    }

    /// Calls `each` for every record from `start` on (a record boundary)
    /// and returns the offset after the last one. The change feed's reader
    /// (Feed/ChangeLogReader.swift): with `limit`, the bytes before it are
    /// published groups of a live log, so anything but whole, checksummed
    /// records there is damage (thrown); without it (a closed log) reading
    /// stops quietly at the first position that holds no record, where
    /// recovery stops too (a clean end or a torn tail).
    package func readRecords(from start: Int, limit: Int?, _ each: (Record) throws -> Void) throws -> Int {
        var offset = start
        var end = min(limit ?? sizeBytes, sizeBytes)
        if limit != nil {
            // Bytes past the last published end may have been loaded as
            // zeros or half-written groups: load afresh, and only up to it.
            window = []
            windowStart = 0
        }
        readCap = limit
        defer { readCap = nil }
        if let limit, limit > sizeBytes {
            throw DBError.corruption(path: path, offset: UInt64(sizeBytes),
                                     reason: "published log end \(limit) lies past the end of the file")
        }
        while offset >= 0 && end - offset >= LogRecord.headerSize {
            do {
                let header = try withBytes(offset, LogRecord.headerSize) { LogRecord.Header($0) }
                var problem: String?
                if header.isZero {
                    problem = "a zero header"
                } else if let why = header.problem(remaining: end - offset) {
                    problem = why
                } else if try !checksumMatches(header, at: offset) {
                    problem = "record checksum mismatch"
                }
                if let problem {
                    if limit != nil { throw DBError.corruption(path: path, offset: UInt64(offset), reason: problem) }
                    break
                }
                try withBytes(offset + LogRecord.headerSize, header.length) { payload in
                    try each(Record(offset: offset, type: header.type, payload: payload))
                }
                offset += LogRecord.headerSize + header.length
            } catch is FileShrank {
                // Only without a limit (see `load`): read to the new end.
                end = sizeBytes
            }
        }
        if let limit, offset != limit {
            throw DBError.corruption(path: path, offset: UInt64(offset),
                                     reason: "published log end \(limit) is not at a record boundary")
        }
        return offset
    }

    /// Every full record's payload (small logs: the MANIFEST, tests, tools).
    package func readAll(evidence: DurabilityEvidence, strict: Bool) throws -> (payloads: [[UInt8]], ending: Ending) {
        var payloads: [[UInt8]] = []
        let ending = try read(evidence: evidence, strict: strict) { record in
            if !record.isSyncPoint { payloads.append(Array(record.payload)) }
        }
        return (payloads, ending)
    }

    /// Whether any valid record is stored anywhere in the file (a later
    /// WAL holding one proves the earlier WALs were synced in full: the
    /// engine syncs a log before it writes to the next).
    package func containsValidRecord() throws -> Bool {
        try restartingWhenShrunk {
            switch try step(at: 0) {
            case .record: return true
            case .end: return false
            case .bad: return try scanTail(from: 0, evidence: .syncPoints).validRecords > 0
            }
        }
    }

    /// Whether the file holds nothing but zeros (a log never written to:
    /// preallocated, or empty).
    package func holdsOnlyZeros() throws -> Bool { try restartingWhenShrunk { try isZero(from: 0) } }

    // MARK: - A file that shrank

    /// Thrown by `load` when the file turned out shorter than `sizeBytes`
    /// (lowered to the new end): the step that asked starts again.
    private struct FileShrank: Error {}

    private func restartingWhenShrunk<R>(_ body: () throws -> R) throws -> R {
        while true {
            do { return try body() } catch is FileShrank { continue }
        }
    }

    // MARK: - One position

    private enum Step {
        case record(LogRecord.Header)
        /// End of file, or nothing but zeros from here on.
        case end
        case bad(String)
    }

    private func step(at offset: Int) throws -> Step {
        let remaining = sizeBytes - offset
        if remaining == 0 { return .end }
        if remaining < LogRecord.headerSize {
            return try isZero(from: offset) ? .end : .bad("partial record header")
        }
        let header = try withBytes(offset, LogRecord.headerSize) { LogRecord.Header($0) }
        if header.isZero {
            return try isZero(from: offset + LogRecord.headerSize) ? .end : .bad("zero record header followed by data")
        }
        if let problem = header.problem(remaining: remaining) { return .bad(problem) }
        return try checksumMatches(header, at: offset) ? .record(header) : .bad("record checksum mismatch")
    }

    /// Checks the CRC of the record at `offset`; a payload longer than
    /// four windows (a huge length in damaged bytes, or a huge batch) is
    /// checked chunk by chunk rather than loaded whole.
    private func checksumMatches(_ header: LogRecord.Header, at offset: Int) throws -> Bool {
        let start = offset + LogRecord.headerSize
        if header.length <= 4 * Self.chunkBytes {
            return try withBytes(start, header.length) {
                LogRecord.maskedChecksum(type: header.type, $0) == header.maskedCRC
            }
        }
        var crc: UInt32 = withUnsafeBytes(of: header.type) { CRC32C.extend(0, $0) }
        var at = start
        while at < start + header.length {
            let n = min(Self.chunkBytes, start + header.length - at)
            crc = try withBytes(at, n) { CRC32C.extend(crc, $0) }
            at += n
        }
        return CRC32C.mask(crc) == header.maskedCRC
    }

    // MARK: - After the damage

    /// Looks at every byte from `start` (a bad position) to the end of the
    /// file: the valid records found there, the highest offset they prove
    /// durable, and where the non-zero bytes end. Cheap on zeros (eight
    /// bytes per step); only called when a log does not end cleanly.
    private func scanTail(from start: Int, evidence: DurabilityEvidence)
        throws -> (provenDurableBytes: Int, endBytes: Int, validRecords: Int) {
        var proven = 0
        var validRecords = 0
        var end = start
        try nonZeroEnd(start, min(start + LogRecord.headerSize, sizeBytes)).map { end = $0 }
        // `typeAt` walks the type byte (offset 8) of each candidate record
        // start after `start`; every byte from `headerEnd` on is seen once.
        var typeAt = start + LogRecord.headerSize
        while typeAt < sizeBytes {
            let base = typeAt - 8
            let span = min(Self.chunkBytes, sizeBytes - base)
            let found: Int? = try withBytes(base, span) { raw in
                var j = 8
                while j < raw.count {
                    if j + 8 <= raw.count && raw.loadUnaligned(fromByteOffset: j, as: UInt64.self) == 0 {
                        j += 8
                        continue
                    }
                    let byte = raw[j]
                    if byte != 0 { end = max(end, base + j + 1) }
                    if byte == LogRecord.typeFull || byte == LogRecord.typeSyncPoint { return base + j }
                    j += 1
                }
                return nil
            }
            guard let candidateType = found else {
                typeAt = base + span
                continue
            }
            let p = candidateType - 8
            let header = try withBytes(p, LogRecord.headerSize) { LogRecord.Header($0) }
            guard header.problem(remaining: sizeBytes - p) == nil, try checksumMatches(header, at: p) else {
                typeAt = candidateType + 1
                continue
            }
            validRecords += 1
            let recordEnd = p + LogRecord.headerSize + header.length
            switch evidence {
            case .syncPoints where header.type == LogRecord.typeSyncPoint:
                let claimed = try withBytes(p + LogRecord.headerSize, LogRecord.syncPointPayloadSize) {
                    UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))
                }
                proven = max(proven, Int(clamping: claimed))
            case .syncPoints:
                break
            case .everyRecord:
                proven = max(proven, p)
            }
            end = max(end, recordEnd)
            // The candidate loop resumes at the type byte of a record
            // starting at `recordEnd`; the 8 bytes before it are looked at here.
            try nonZeroEnd(recordEnd, min(recordEnd + 8, sizeBytes)).map { end = max(end, $0) }
            typeAt = recordEnd + 8
        }
        return (proven, end, validRecords)
    }

    /// One past the last non-zero byte of [from, to), nil when all are zero.
    private func nonZeroEnd(_ from: Int, _ to: Int) throws -> Int? {
        guard to > from else { return nil }
        return try withBytes(from, to - from) { raw in raw.lastIndex(where: { $0 != 0 }).map { from + $0 + 1 } }
    }

    // MARK: - The window

    /// Whether every byte from `start` to the end of the file is zero.
    private func isZero(from start: Int) throws -> Bool {
        var at = start
        while at < sizeBytes {
            let n = min(Self.chunkBytes, sizeBytes - at)
            guard try withBytes(at, n, { LogReader.isAllZero($0) }) else { return false }
            at += n
        }
        return true
    }

    /// Runs `body` over file bytes [offset, offset + count), which must lie
    /// inside the file; reads a new window when they are not in the
    /// current one.
    private func withBytes<R>(_ offset: Int, _ count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        precondition(offset >= 0 && offset + count <= sizeBytes, "log read outside the file")
        if offset < windowStart || offset + count > windowStart + window.count {
            try load(offset, count)
        }
        // The window holds [windowStart, windowStart + window.count) ⊇ the range.
        return try window.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(offset - windowStart)..<(offset - windowStart + count)]))
        }
    }

    private func load(_ offset: Int, _ count: Int) throws {
        guard let file, let backend else { preconditionFailure("in-memory log read outside its bytes") }
        let length = min(max(count, Self.chunkBytes), min(readCap ?? sizeBytes, sizeBytes) - offset)
        var bytes = [UInt8](repeating: 0, count: length)
        let n: Int
        do {
            n = try bytes.withUnsafeMutableBytes { try backend.read(fd: file.fd, into: $0, offset: UInt64(offset)) }
        } catch let error as IOError {
            if error.memoryMayStillBeInUse { Quarantine.keep(value: bytes) }
            throw DBError.io(error.at(path: path))
        }
        guard n == length else {
            if readCap == nil {
                // End of file at offset + n (< sizeBytes): the file was cut
                // since it was opened. Nothing loaded before is kept.
                sizeBytes = offset + n
                window = []
                windowStart = 0
                throw FileShrank()
            }
            throw DBError.io(IOError(operation: "read", errno: EIO, path: path, offset: UInt64(offset + n),
                                     detail: "the log shrank while it was read"))
        }
        window = bytes
        windowStart = offset
    }

    /// Whether every byte is zero; eight bytes at a time.
    static func isAllZero(_ raw: UnsafeRawBufferPointer) -> Bool {
        var i = 0
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
}
