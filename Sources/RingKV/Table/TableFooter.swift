/// The fixed 64 bytes that end every table file (docs/FORMAT.md §SSTable
/// "Footer"). The file size is a multiple of 4096, so the footer is the
/// last 64 bytes of the last 4 KiB page:
///
///     0   index handle       fixed64 offset, fixed64 size
///     16  filter handle      fixed64 offset, fixed64 size (0, 0 = no filter)
///     32  properties handle  fixed64 offset, fixed64 size
///     48  format version     fixed32 (1; 2 when the table has a range
///                            deletion block, whose handle the properties
///                            block then carries)
///     52  crc                fixed32 masked CRC32C of bytes 0 ..< 52
///     56  magic              the 8 bytes "RKVTABLE" (fixed64 0x454C424154564B52)
package struct TableFooter: Equatable {
    static let sizeBytes = 64
    /// Version 1: no range deletion block. An older build refuses
    /// version 2 instead of silently ignoring the table's range deletions.
    static let formatVersion: UInt32 = 1
    static let rangeDeletionFormatVersion: UInt32 = 2
    static let magic: UInt64 = 0x454C_4241_5456_4B52
    static let checksummedBytes = 52

    package var index: BlockHandle
    package var filter: BlockHandle?
    package var properties: BlockHandle
    /// 1, or 2 when the properties carry a range deletion handle.
    package var formatVersion: UInt32 = TableFooter.formatVersion

    package func encode() -> [UInt8] {
        var out = ByteWriter(capacity: TableFooter.sizeBytes)
        for h in [index, filter ?? BlockHandle(offset: 0, size: 0), properties] {
            out.appendFixed64(h.offset)
            out.appendFixed64(h.size)
        }
        out.appendFixed32(formatVersion)
        let crc = out.bytes.withUnsafeBytes { CRC32C.mask(CRC32C.checksum($0)) }
        out.appendFixed32(crc)
        out.appendFixed64(TableFooter.magic)
        precondition(out.count == TableFooter.sizeBytes, "footer encoding must be exactly 64 bytes")
        return out.bytes
    }

    /// Parses the last 64 bytes of a table. Checks magic first (so "not a
    /// table / truncated" is told apart from a damaged footer), then CRC,
    /// then version.
    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> TableFooter {
        guard bytes.count == sizeBytes else {
            throw DecodeError(reason: "footer must be \(sizeBytes) bytes, got \(bytes.count)", offset: 0)
        }
        var r = ByteReader(bytes)
        var handles: [BlockHandle] = []
        for _ in 0..<3 { handles.append(BlockHandle(offset: try r.readFixed64(), size: try r.readFixed64())) }
        let version = try r.readFixed32()
        let storedCRC = try r.readFixed32()
        let magic = try r.readFixed64()
        guard magic == TableFooter.magic else {
            throw DecodeError(reason: "bad table magic 0x\(String(magic, radix: 16)) (truncated file or not a RingKV table)",
                              offset: 56)
        }
        let crc = CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<checksummedBytes])))
        guard crc == storedCRC else { throw DecodeError(reason: "footer checksum mismatch", offset: 52) }
        guard version == formatVersion || version == rangeDeletionFormatVersion else {
            throw DecodeError(reason: "unsupported table format version \(version) (this build reads \(formatVersion) "
                                + "and \(rangeDeletionFormatVersion))", offset: 48)
        }
        let filter = handles[1] == BlockHandle(offset: 0, size: 0) ? nil : handles[1]
        return TableFooter(index: handles[0], filter: filter, properties: handles[2], formatVersion: version)
    }
}
