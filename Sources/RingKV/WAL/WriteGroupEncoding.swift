/// Encodes the writes of a group straight into the WAL's buffer: one log
/// record (docs/FORMAT.md §Log records) per write, whose payload is a write
/// batch (§WAL payload) carrying the sequence number the leader assigned.
/// `DB.put` and `DB.delete` build no `WriteBatch`: their one operation is
/// encoded here from the caller's key and value (lent for the commit), so
/// a write copies its bytes once, into the buffer the kernel reads.
enum WriteGroupEncoding {
    /// Payload bytes of a batch holding one put (`isPut`) or delete, in
    /// `keyspace` (0: the default one, encoded without an id).
    static func singleOperationBytes(keyBytes: Int, valueBytes: Int, isPut: Bool, keyspace: UInt32 = 0) -> Int {
        var bytes = WriteBatch.headerSize + 1 + varintLength(keyBytes) + keyBytes
        if keyspace != 0 { bytes += varintLength(Int(keyspace)) }
        if isPut { bytes += varintLength(valueBytes) + valueBytes }
        return bytes
    }

    /// Bytes `writer`'s record takes in the log.
    static func recordBytes(_ writer: PendingWrite) -> Int { LogRecord.headerSize + writer.payloadBytes }

    /// Writes `writer`'s record at `destination`, which has
    /// `recordBytes(writer)` bytes, and returns that count.
    static func encode(_ writer: PendingWrite, into destination: UnsafeMutableRawPointer) -> Int {
        let payload = destination + LogRecord.headerSize
        // storeBytes accepts any alignment (records are packed back to back).
        payload.storeBytes(of: writer.firstSequence.littleEndian, as: UInt64.self)
        payload.storeBytes(of: UInt32(writer.operationCount).littleEndian, toByteOffset: 8, as: UInt32.self)
        var p = payload + WriteBatch.headerSize
        switch writer.payload {
        case .batch(let rep, _):
            // The batch's own header holds no sequence yet; the ops follow it.
            rep.withUnsafeBytes { raw in
                let ops = UnsafeRawBufferPointer(rebasing: raw[WriteBatch.headerSize...])
                if let base = ops.baseAddress, ops.count > 0 { p.copyMemory(from: base, byteCount: ops.count) }
            }
        case .put(let key, let value):
            p = appendType(.value, keyspace: writer.keyspace?.id ?? 0, to: p)
            p = append(value: value, to: append(value: key, to: p))
        case .delete(let key):
            p = appendType(.deletion, keyspace: writer.keyspace?.id ?? 0, to: p)
            p = append(value: key, to: p)
        case .none, .switchMemtable, .control, .syncLog:
            preconditionFailure("WAL group holds a write without data")
        }
        let bytes = UnsafeRawBufferPointer(start: payload, count: writer.payloadBytes)
        let checksum = LogRecord.maskedChecksum(type: LogRecord.typeFull, bytes)
        destination.storeBytes(of: checksum.littleEndian, as: UInt32.self)
        destination.storeBytes(of: UInt32(writer.payloadBytes).littleEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: LogRecord.typeFull, toByteOffset: 8, as: UInt8.self)
        return LogRecord.headerSize + writer.payloadBytes
    }

    /// Writes an operation's type byte (and for a keyspace other than 0,
    /// its id) at `p`; returns the byte after them.
    private static func appendType(_ type: ValueType, keyspace: UInt32,
                                   to p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        guard keyspace != 0 else {
            p.storeBytes(of: type.rawValue, as: UInt8.self)
            return p + 1
        }
        p.storeBytes(of: WriteBatch.keyspaceOperationType(type), as: UInt8.self)
        return appendVarint(UInt64(keyspace), to: p + 1)
    }

    private static func appendVarint(_ value: UInt64, to p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        var out = p
        var v = value
        while v >= 0x80 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, as: UInt8.self)
            out += 1
            v >>= 7
        }
        out.storeBytes(of: UInt8(v), as: UInt8.self)
        return out + 1
    }

    /// Writes varint length + bytes at `p`; returns the byte after them.
    private static func append(value: UnsafeRawBufferPointer, to p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        let out = appendVarint(UInt64(value.count), to: p)
        if let base = value.baseAddress, value.count > 0 { out.copyMemory(from: base, byteCount: value.count) }
        return out + value.count
    }

    private static func varintLength(_ n: Int) -> Int {
        var v = UInt64(n), bytes = 1
        while v >= 0x80 { v >>= 7; bytes += 1 }
        return bytes
    }
}
