/// Where a block lives in a table file: `offset` of its first byte and
/// `size` of its stored payload, *without* the 5-byte block trailer
/// (docs/FORMAT.md §SSTable, "Block handle").
///
/// In index entries a handle is two varints (offset, size), at most 20
/// bytes. In the footer it is two fixed64 so the footer has a fixed size.
package struct BlockHandle: Equatable, Hashable, Sendable, CustomStringConvertible {
    package var offset: UInt64
    package var size: UInt64

    init(offset: UInt64, size: UInt64) {
        self.offset = offset
        self.size = size
    }

    /// Longest varint encoding: two 10-byte varints.
    static let maxVarintEncodedBytes = 20

    /// Bytes this block occupies on disk: payload plus trailer.
    var sizeWithTrailer: UInt64 { size + UInt64(BlockCodec.trailerSizeBytes) }

    func appendVarint(to out: inout ByteWriter) {
        out.appendVarint(offset)
        out.appendVarint(size)
    }

    package static func decodeVarint(_ reader: inout ByteReader) throws(DecodeError) -> BlockHandle {
        let offset = try reader.readVarint64()
        let size = try reader.readVarint64()
        return BlockHandle(offset: offset, size: size)
    }

    /// Decodes a handle that must fill `bytes` exactly (an index value).
    package static func decodeVarint(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> BlockHandle {
        var reader = ByteReader(bytes)
        let handle = try decodeVarint(&reader)
        guard reader.isAtEnd else {
            throw DecodeError(reason: "\(reader.remaining) stray bytes after block handle", offset: reader.position)
        }
        return handle
    }

    package var description: String { "[offset \(offset), size \(size)]" }
}
