import RingIO
import RingKV

/// One operation of a logged write batch.
public struct WALOperationSummary: Sendable {
    /// The operation's own sequence number (the batch's first + its index).
    public var sequence: UInt64
    public var kind: DatabaseTools.OperationKind
    public var key: [UInt8]
    /// 0 for deletes.
    public var valueSizeBytes: Int
}

/// One record of a WAL: a framed, checksummed write batch.
public struct WALRecordSummary: Sendable {
    /// File offset of the record header.
    public var offset: UInt64
    /// Payload bytes (the encoded batch), without the 9-byte header.
    public var payloadSizeBytes: Int
    /// Sequence number of the batch's first operation.
    public var sequence: UInt64
    public var operations: [WALOperationSummary]
}

/// Where reading a log stopped before its clean end.
public struct LogStop: Sendable {
    public var offset: UInt64
    public var reason: String
    /// true: the last append was cut short by a crash (recovery drops it
    /// silently, docs/FORMAT.md §Log records). false: damage in the middle
    /// of the log.
    public var isTornTail: Bool
}

/// Everything in one WAL file, as recovery would read it.
public struct WALDump: Sendable {
    public var path: String
    public var fileSizeBytes: UInt64
    public var records: [WALRecordSummary]
    /// The valid records end here; the rest of the file is the zero-filled
    /// preallocation, a torn tail, or damage (see `stop`).
    public var validBytes: UInt64
    /// nil when the log ends cleanly (end of file or zero-filled tail).
    public var stop: LogStop?

    public var operationCount: Int { records.reduce(0) { $0 + $1.operations.count } }
}

extension DatabaseTools {
    /// Reads every record of the WAL at `path` and decodes its write batch.
    /// Damage does not throw: the records before it are returned and `stop`
    /// says where and why reading ended. Throws only when the file cannot
    /// be read at all.
    public static func dumpWAL(path: String) throws -> WALDump {
        let reader = try LogReader(path: path, backend: makeBackend())
        var stop: LogStop?
        let outcome: LogReader.Outcome
        do {
            outcome = try reader.readAll(strict: true)
            if let torn = outcome.tornTail {
                stop = LogStop(offset: UInt64(torn.offset), reason: torn.reason, isTornTail: true)
            }
        } catch DBError.corruption(_, let offset, let reason) {
            // Strict reading names the damage; lenient reading keeps what precedes it.
            outcome = try reader.readAll(strict: false)
            stop = LogStop(offset: offset, reason: reason, isTornTail: false)
        }

        var records: [WALRecordSummary] = []
        var offset: UInt64 = 0
        for payload in outcome.payloads {
            let payloadOffset = offset + UInt64(LogRecord.headerSize)
            do {
                records.append(try decodeBatch(payload, offset: offset, path: path))
            } catch DBError.corruption(_, let at, let reason) {
                stop = LogStop(offset: payloadOffset + at, reason: "write batch: " + reason, isTornTail: false)
                return WALDump(path: path, fileSizeBytes: UInt64(reader.data.count), records: records,
                               validBytes: offset, stop: stop)
            }
            offset = payloadOffset + UInt64(payload.count)
        }
        return WALDump(path: path, fileSizeBytes: UInt64(reader.data.count), records: records,
                       validBytes: UInt64(outcome.validLength), stop: stop)
    }

    /// Decodes one WAL payload with the engine's batch walker. Corruption
    /// offsets are relative to the payload.
    private static func decodeBatch(_ payload: [UInt8], offset: UInt64, path: String) throws -> WALRecordSummary {
        try payload.withUnsafeBytes { raw in
            do {
                let first = try WriteBatch.header(raw).sequence
                var operations: [WALOperationSummary] = []
                try WriteBatch.forEach(raw) { type, key, value in
                    let kind: OperationKind = type == .value ? .put : .delete
                    operations.append(WALOperationSummary(sequence: first &+ UInt64(operations.count), kind: kind,
                                                          key: Array(key), valueSizeBytes: value.count))
                }
                return WALRecordSummary(offset: offset, payloadSizeBytes: payload.count, sequence: first,
                                        operations: operations)
            } catch let e as DecodeError {
                throw DBError.corruption(path: path, offset: UInt64(e.offset), reason: e.reason)
            }
        }
    }
}
