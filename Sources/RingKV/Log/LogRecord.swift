/// Record framing shared by the WAL and the MANIFEST (docs/FORMAT.md §Log
/// records):
///
///     masked_crc32c: fixed32   over type byte + payload
///     length:        fixed32   payload length
///     type:          u8        1 = full record, 2 = sync point (WAL only)
///     payload:       length bytes
///
/// A header of all zeros marks the end of a preallocated log.
package enum LogRecord {
    package static let headerSize = 9
    static let typeFull: UInt8 = 1
    /// A WAL record whose payload is a fixed64 offset: when it was written,
    /// an fdatasync had made every byte of this log before that offset
    /// durable (docs/FORMAT.md §Sync points). Recovery uses it to tell
    /// damage of synced bytes (corruption) from a torn, unsynced tail.
    static let typeSyncPoint: UInt8 = 2
    static let syncPointPayloadSize = 8
    /// A whole sync-point record, header included.
    package static let syncPointRecordSize = headerSize + syncPointPayloadSize
    /// No record may exceed this (a write batch is bounded well below it).
    static let maxPayloadSize = 1 << 30

    /// Appends one framed record to `out`.
    package static func encode(_ payload: UnsafeRawBufferPointer, into out: inout ByteWriter) {
        out.appendFixed32(maskedChecksum(type: typeFull, payload))
        out.appendFixed32(UInt32(payload.count))
        out.append(typeFull)
        out.append(payload)
    }

    /// Writes header + payload into raw memory (the WAL's registered buffer).
    /// `destination` must have `headerSize + payload.count` bytes.
    package static func encode(_ payload: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer,
                               type: UInt8 = typeFull) {
        destination.storeBytes(of: maskedChecksum(type: type, payload).littleEndian, as: UInt32.self)
        destination.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: type, toByteOffset: 8, as: UInt8.self)
        if let base = payload.baseAddress, payload.count > 0 {
            (destination + headerSize).copyMemory(from: base, byteCount: payload.count)
        }
    }

    /// Writes a sync-point record (`syncPointRecordSize` bytes) saying that
    /// the log's bytes before `syncedBytes` were durable when it was written.
    package static func encodeSyncPoint(_ syncedBytes: UInt64, into destination: UnsafeMutableRawPointer) {
        withUnsafeBytes(of: syncedBytes.littleEndian) { encode($0, into: destination, type: typeSyncPoint) }
    }

    @inline(__always)
    static func maskedChecksum(type: UInt8, _ payload: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0
        withUnsafeBytes(of: type) { crc = CRC32C.extend(0, $0) }
        return CRC32C.mask(CRC32C.extend(crc, payload))
    }

    /// A record header as stored.
    struct Header {
        var maskedCRC: UInt32
        var length: Int
        var type: UInt8

        /// `raw` holds at least `headerSize` bytes.
        init(_ raw: UnsafeRawBufferPointer) {
            maskedCRC = UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self))
            length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            type = raw[8]
        }

        var isZero: Bool { maskedCRC == 0 && length == 0 && type == 0 }

        /// Why a header cannot start a record of a file `remaining` bytes
        /// long from its first byte; nil when it can (the checksum is
        /// checked separately).
        func problem(remaining: Int) -> String? {
            guard type == typeFull || type == typeSyncPoint else { return "unknown record type \(type)" }
            if type == typeSyncPoint && length != syncPointPayloadSize {
                return "sync point record of \(length) bytes (expected \(syncPointPayloadSize))"
            }
            guard length <= maxPayloadSize, headerSize + length <= remaining else {
                return "record length \(length) runs past the end of the file"
            }
            return nil
        }
    }
}
