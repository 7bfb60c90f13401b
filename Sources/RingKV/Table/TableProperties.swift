/// Facts about one table, written once into its properties block and
/// returned by `TableBuilder.finish()` (docs/FORMAT.md §SSTable
/// "Properties block"):
///
///     version            u8      1
///     entryCount         varint
///     deletionCount      varint
///     dataBlockCount     varint
///     dataSizeBytes      varint  stored data blocks, trailers included
///     rawKeyBytes        varint  sum of internal key lengths
///     rawValueBytes      varint
///     smallestSequence   varint
///     largestSequence    varint
///     bloomBitsPerKey    varint  0 = no filter
///     smallestKey        varint length ++ internal key bytes
///     largestKey         varint length ++ internal key bytes
///     rangeDeletionOffset varint  } only in tables whose footer says
///     rangeDeletionSize   varint  } format version 2
///     rangeDeletionCount  varint  }  (0, 0, 0 when only the prefix filter follows)
///     prefixFilterOffset  varint  } only in tables with a prefix filter
///     prefixFilterSize    varint  }
///     prefixLength        varint  }
///     (later versions may append fields; readers ignore trailing bytes)
///
/// `fileSizeBytes` is not stored (the file is its own witness); readers fill it in.
package struct TableProperties: Equatable, Sendable {
    package static let version: UInt8 = 1

    package var entryCount: UInt64 = 0
    package var deletionCount: UInt64 = 0
    package var dataBlockCount: UInt64 = 0
    package var dataSizeBytes: UInt64 = 0
    package var rawKeyBytes: UInt64 = 0
    package var rawValueBytes: UInt64 = 0
    package var smallestKey: [UInt8] = []
    package var largestKey: [UInt8] = []
    package var smallestSequence: SequenceNumber = 0
    package var largestSequence: SequenceNumber = 0
    package var bloomBitsPerKey: Int = 0
    package var fileSizeBytes: UInt64 = 0
    /// The range deletion block (table format version 2), else nil.
    package var rangeDeletionHandle: BlockHandle?
    package var rangeDeletionCount: UInt64 = 0
    /// The prefix filter block (tables of keyspaces with a prefix length),
    /// else nil; `prefixLength` is the bytes of each key it covers.
    package var prefixFilterHandle: BlockHandle?
    package var prefixLength: Int = 0

    package func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 64 + smallestKey.count + largestKey.count)
        out.append(TableProperties.version)
        out.appendVarint(entryCount)
        out.appendVarint(deletionCount)
        out.appendVarint(dataBlockCount)
        out.appendVarint(dataSizeBytes)
        out.appendVarint(rawKeyBytes)
        out.appendVarint(rawValueBytes)
        out.appendVarint(smallestSequence)
        out.appendVarint(largestSequence)
        out.appendVarint(bloomBitsPerKey)
        out.appendLengthPrefixed(smallestKey)
        out.appendLengthPrefixed(largestKey)
        if let h = rangeDeletionHandle {
            out.appendVarint(h.offset)
            out.appendVarint(h.size)
            out.appendVarint(rangeDeletionCount)
        } else if prefixFilterHandle != nil {
            // No range deletion block: three zeros hold its place.
            out.appendVarint(0)
            out.appendVarint(0)
            out.appendVarint(0)
        }
        if let h = prefixFilterHandle {
            out.appendVarint(h.offset)
            out.appendVarint(h.size)
            out.appendVarint(prefixLength)
        }
        return out.bytes
    }

    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> TableProperties {
        var r = ByteReader(bytes)
        let version = try r.readByte()
        guard version == TableProperties.version else {
            throw DecodeError(reason: "unknown properties version \(version)", offset: 0)
        }
        var p = TableProperties()
        p.entryCount = try r.readVarint64()
        p.deletionCount = try r.readVarint64()
        p.dataBlockCount = try r.readVarint64()
        p.dataSizeBytes = try r.readVarint64()
        p.rawKeyBytes = try r.readVarint64()
        p.rawValueBytes = try r.readVarint64()
        p.smallestSequence = try r.readVarint64()
        p.largestSequence = try r.readVarint64()
        p.bloomBitsPerKey = try r.readLength(limit: 1 << 16)
        p.smallestKey = Array(try r.readLengthPrefixed())
        p.largestKey = Array(try r.readLengthPrefixed())
        if !r.isAtEnd {
            let handle = BlockHandle(offset: try r.readVarint64(), size: try r.readVarint64())
            let count = try r.readVarint64()
            // (0, 0, 0): no range deletion block (a block is never empty).
            if handle.size != 0 || count != 0 || handle.offset != 0 {
                p.rangeDeletionHandle = handle
                p.rangeDeletionCount = count
            }
        }
        if !r.isAtEnd {
            let handle = BlockHandle(offset: try r.readVarint64(), size: try r.readVarint64())
            p.prefixLength = try r.readLength(limit: 1 << 16)
            guard p.prefixLength > 0 else { throw DecodeError(reason: "prefix filter of prefix length 0", offset: r.position) }
            p.prefixFilterHandle = handle
        }
        return p
    }
}
