/// Record framing shared by the WAL and the MANIFEST (docs/FORMAT.md §Log
/// records):
///
///     masked_crc32c: fixed32   over type byte + payload
///     length:        fixed32   payload length
///     type:          u8        1 = full record
///     payload:       length bytes
///
/// A header of all zeros marks the end of a preallocated log.
package enum LogRecord {
    package static let headerSize = 9
    static let typeFull: UInt8 = 1
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
    package static func encode(_ payload: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: maskedChecksum(type: typeFull, payload).littleEndian, as: UInt32.self)
        destination.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: typeFull, toByteOffset: 8, as: UInt8.self)
        if let base = payload.baseAddress, payload.count > 0 {
            (destination + headerSize).copyMemory(from: base, byteCount: payload.count)
        }
    }

    @inline(__always)
    static func maskedChecksum(type: UInt8, _ payload: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0
        withUnsafeBytes(of: type) { crc = CRC32C.extend(0, $0) }
        return CRC32C.mask(CRC32C.extend(crc, payload))
    }

    /// What `LogReader` found at one position.
    package enum Parse {
        case record(payload: UnsafeRawBufferPointer, next: Int)
        /// A zero header, or no room for a header: the log ends here.
        case end
        /// A header or checksum that does not hold; `reason` says which.
        case bad(reason: String)
    }

    /// Parses the record at `offset` of `data`.
    package static func parse(_ data: UnsafeRawBufferPointer, at offset: Int) -> Parse {
        guard data.count - offset >= headerSize else { return .end }
        let stored = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        let length = Int(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        let type = data[offset + 8]
        if stored == 0 && length == 0 && type == 0 { return .end }
        guard type == typeFull else { return .bad(reason: "unknown record type \(type)") }
        guard length <= maxPayloadSize, offset + headerSize + length <= data.count else {
            return .bad(reason: "record length \(length) runs past the end of the file")
        }
        let payload = UnsafeRawBufferPointer(rebasing: data[(offset + headerSize)..<(offset + headerSize + length)])
        guard maskedChecksum(type: type, payload) == stored else { return .bad(reason: "record checksum mismatch") }
        return .record(payload: payload, next: offset + headerSize + length)
    }
}
