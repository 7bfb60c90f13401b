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
    /// The exclusive end of a range deletion (`key` is its start); nil otherwise.
    public var endKey: [UInt8]? = nil
    /// The keyspace id the operation writes to (0: "default").
    public var keyspaceId: UInt32 = 0
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
    /// true: nothing after `offset` is proven synced — what a crash leaves
    /// of unsynced appends; recovery drops it and keeps the bytes under
    /// `lost/` (docs/FORMAT.md §Torn tail). false: damage in bytes a later
    /// record proves were synced.
    public var isTornTail: Bool
    /// Bytes from `offset` to the last non-zero byte after it.
    public var droppedBytes: UInt64
}

/// A sync-point record: when it was written, the log was durable up to
/// `syncedBytes` (docs/FORMAT.md §Sync points).
public struct WALSyncPoint: Sendable {
    public var offset: UInt64
    public var syncedBytes: UInt64
}

/// Everything in one WAL file, as recovery would read it.
public struct WALDump: Sendable {
    public var path: String
    public var fileSizeBytes: UInt64
    public var records: [WALRecordSummary]
    public var syncPoints: [WALSyncPoint]
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
        var records: [WALRecordSummary] = []
        var syncPoints: [WALSyncPoint] = []
        var badBatch: (stop: LogStop, recordOffset: UInt64)?
        let ending = try reader.read(evidence: .syncPoints, strict: false) { record in
            guard badBatch == nil else { return }
            if record.isSyncPoint {
                syncPoints.append(WALSyncPoint(offset: UInt64(record.offset), syncedBytes: record.syncedBytes))
                return
            }
            let offset = UInt64(record.offset)
            do {
                records.append(try decodeBatch(Array(record.payload), offset: offset, path: path))
            } catch DBError.corruption(_, let at, let reason) {
                // A record whose checksum holds but whose batch does not decode
                // fails recovery whatever came before it.
                let payloadOffset = offset + UInt64(LogRecord.headerSize)
                badBatch = (LogStop(offset: payloadOffset + at, reason: "write batch: " + reason, isTornTail: false,
                                    droppedBytes: UInt64(reader.sizeBytes) - offset), offset)
            }
        }
        if let badBatch {
            return WALDump(path: path, fileSizeBytes: UInt64(reader.sizeBytes), records: records,
                           syncPoints: syncPoints, validBytes: badBatch.recordOffset, stop: badBatch.stop)
        }
        let stop = ending.dropped.map {
            LogStop(offset: $0.offset, reason: $0.reason, isTornTail: !$0.isCorruption, droppedBytes: $0.byteCount)
        }
        return WALDump(path: path, fileSizeBytes: UInt64(reader.sizeBytes), records: records, syncPoints: syncPoints,
                       validBytes: ending.validBytes, stop: stop)
    }

    /// Decodes one WAL payload with the engine's batch walker. Corruption
    /// offsets are relative to the payload.
    private static func decodeBatch(_ payload: [UInt8], offset: UInt64, path: String) throws -> WALRecordSummary {
        try payload.withUnsafeBytes { raw in
            do {
                let first = try WriteBatch.header(raw).sequence
                var operations: [WALOperationSummary] = []
                try WriteBatch.forEach(raw) { keyspace, type, key, value in
                    let sequence = first &+ UInt64(operations.count)
                    switch type {
                    case .rangeDeletion:
                        operations.append(WALOperationSummary(sequence: sequence, kind: .deleteRange, key: Array(key),
                                                              valueSizeBytes: 0, endKey: Array(value),
                                                              keyspaceId: keyspace))
                    case .value, .deletion, .merge:
                        let kind: DatabaseTools.OperationKind = type == .value ? .put : type == .merge ? .merge : .delete
                        operations.append(WALOperationSummary(sequence: sequence, kind: kind,
                                                              key: Array(key), valueSizeBytes: value.count,
                                                              keyspaceId: keyspace))
                    }
                }
                return WALRecordSummary(offset: offset, payloadSizeBytes: payload.count, sequence: first,
                                        operations: operations)
            } catch let e as DecodeError {
                throw DBError.corruption(path: path, offset: UInt64(e.offset), reason: e.reason)
            }
        }
    }
}
