/// Encodes the writes of a group straight into the WAL's buffer: one log
/// record (docs/FORMAT.md §Log records) per write, whose payload is a write
/// batch (§WAL payload) carrying the sequence number the leader assigned.
/// `DB.put` and `DB.delete` build no `WriteBatch`: their one operation is
/// encoded here from the caller's key and value (lent for the commit), so
/// a write copies its bytes once, into the buffer the kernel reads.
enum WriteGroupEncoding {
    /// Payload bytes of a batch holding one put (`isPut`) or delete.
    static func singleOperationBytes(keyBytes: Int, valueBytes: Int, isPut: Bool) -> Int {
        var bytes = WriteBatch.headerSize + 1 + varintLength(keyBytes) + keyBytes
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
            p.storeBytes(of: ValueType.value.rawValue, as: UInt8.self)
            p = append(value: value, to: append(value: key, to: p + 1))
        case .delete(let key):
            p.storeBytes(of: ValueType.deletion.rawValue, as: UInt8.self)
            p = append(value: key, to: p + 1)
        case .none, .switchMemtable:
            preconditionFailure("WAL group holds a write without data")
        }
        let bytes = UnsafeRawBufferPointer(start: payload, count: writer.payloadBytes)
        let checksum = LogRecord.maskedChecksum(type: LogRecord.typeFull, bytes)
        destination.storeBytes(of: checksum.littleEndian, as: UInt32.self)
        destination.storeBytes(of: UInt32(writer.payloadBytes).littleEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: LogRecord.typeFull, toByteOffset: 8, as: UInt8.self)
        return LogRecord.headerSize + writer.payloadBytes
    }

    /// Writes varint length + bytes at `p`; returns the byte after them.
    private static func append(value: UnsafeRawBufferPointer, to p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        var out = p
        var v = UInt64(value.count)
        while v >= 0x80 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, as: UInt8.self)
            out += 1
            v >>= 7
        }
        out.storeBytes(of: UInt8(v), as: UInt8.self)
        out += 1
        if let base = value.baseAddress, value.count > 0 { out.copyMemory(from: base, byteCount: value.count) }
        return out + value.count
    }

    private static func varintLength(_ n: Int) -> Int {
        var v = UInt64(n), bytes = 1
        while v >= 0x80 { v >>= 7; bytes += 1 }
        return bytes
    }
}
