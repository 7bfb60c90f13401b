import RingIO
import RingKV

/// Where a block is stored in a table file. `sizeBytes` is the stored
/// payload without the 5-byte trailer, as in the table's block handles.
public struct TableBlockLocation: Sendable, CustomStringConvertible {
    public var offset: UInt64
    public var sizeBytes: UInt64

    public var description: String { "offset \(offset), \(sizeBytes) bytes" }
}

/// What a table says about itself: footer handles and properties block
/// (docs/FORMAT.md §SSTable).
public struct TableSummary: Sendable {
    public var path: String
    public var fileSizeBytes: UInt64
    public var entryCount: UInt64
    public var deletionCount: UInt64
    public var dataBlockCount: UInt64
    /// Stored data blocks, trailers included.
    public var dataSizeBytes: UInt64
    /// Sum of internal key lengths (user key + 8-byte trailer).
    public var rawKeyBytes: UInt64
    public var rawValueBytes: UInt64
    public var smallestSequence: UInt64
    public var largestSequence: UInt64
    /// 0: the table has no bloom filter.
    public var bloomBitsPerKey: Int
    /// User keys of the first and last entry; nil for an empty table.
    public var smallestKey: [UInt8]?
    public var largestKey: [UInt8]?
    public var indexBlock: TableBlockLocation
    public var filterBlock: TableBlockLocation?
    public var propertiesBlock: TableBlockLocation
    /// Table format version 2 only (docs/FORMAT.md §Range deletion block).
    public var rangeDeletionBlock: TableBlockLocation?
    /// The range deletion block's tombstones, in stored order.
    public var rangeTombstones: [RangeTombstoneSummary]
}

/// One range tombstone: deletes keys in [start, end) older than `sequence`.
public struct RangeTombstoneSummary: Sendable, Equatable {
    public var start: [UInt8]
    public var end: [UInt8]
    public var sequence: UInt64
}

/// One data block, as stored.
public struct TableBlockSummary: Sendable {
    /// 0-based position among the data blocks.
    public var index: Int
    public var location: TableBlockLocation
    /// "none" or "lz4".
    public var compression: String
    /// Bytes after decompression.
    public var contentSizeBytes: Int
    public var entryCount: Int
}

/// One entry of a table: an internal key and the size of its value.
public struct TableEntrySummary: Sendable {
    public var key: [UInt8]
    public var sequence: UInt64
    public var kind: DatabaseTools.OperationKind
    public var valueSizeBytes: Int
}

/// An open table file for dumping: `summary` is read at open, the data
/// blocks are read (checksums checked) as `forEachBlock` walks them.
public final class TableDump {
    public let summary: TableSummary
    private let reader: TableReader

    init(reader: TableReader) {
        self.reader = reader
        let p = reader.properties
        let footer = reader.footer
        func location(_ h: BlockHandle) -> TableBlockLocation { TableBlockLocation(offset: h.offset, sizeBytes: h.size) }
        summary = TableSummary(
            path: reader.path, fileSizeBytes: reader.fileSizeBytes, entryCount: p.entryCount,
            deletionCount: p.deletionCount, dataBlockCount: p.dataBlockCount, dataSizeBytes: p.dataSizeBytes,
            rawKeyBytes: p.rawKeyBytes, rawValueBytes: p.rawValueBytes, smallestSequence: p.smallestSequence,
            largestSequence: p.largestSequence, bloomBitsPerKey: p.bloomBitsPerKey,
            smallestKey: DatabaseTools.splitInternalKey(p.smallestKey)?.userKey,
            largestKey: DatabaseTools.splitInternalKey(p.largestKey)?.userKey,
            indexBlock: location(footer.index), filterBlock: footer.filter.map(location),
            propertiesBlock: location(footer.properties),
            rangeDeletionBlock: p.rangeDeletionHandle.map(location),
            rangeTombstones: reader.rangeTombstoneList.map {
                RangeTombstoneSummary(start: $0.start, end: $0.end, sequence: $0.sequence)
            })
    }

    /// Calls `body` once per data block in file order, with the block's
    /// entries in key order. Stops at the first damaged block with
    /// `DBError.corruption` naming the file and the block's offset.
    public func forEachBlock(_ body: (TableBlockSummary, [TableEntrySummary]) throws -> Void) throws {
        var handles: [BlockHandle] = []
        let index = reader.indexBlock.makeIterator()
        try index.seekToFirst()
        while index.isValid {
            handles.append(try reader.decodeIndexValue(index.value))
            try index.next()
        }
        let io = TableFileIO(file: reader.file, backend: reader.backend, fileSizeBytes: reader.fileSizeBytes)
        for h in handles { try io.check(h, within: reader.dataEndOffset, what: "data block") }
        var start = 0
        while start < handles.count {
            let group = Array(handles[start..<min(start + TableReader.verifyBatchBlocks, handles.count)])
            // Decoded first (the reader's path throws only DBError), then
            // handed to `body` in order.
            var decoded: [(TableBlockSummary, [TableEntrySummary])] = []
            try io.readStored(group) { (i, stored) throws(DBError) in
                let handle = group[i]
                let type = stored[stored.count - BlockCodec.trailerSizeBytes]
                let block = try BlockCodec.decode(stored, path: reader.path, offset: handle.offset)
                var entries: [TableEntrySummary] = []
                let it = block.makeIterator()
                try it.seekToFirst()
                while it.isValid {
                    guard let (key, sequence, rawType) = DatabaseTools.splitInternalKey(it.key),
                          let kind = DatabaseTools.OperationKind(rawType) else {
                        throw DBError.corruption(path: reader.path, offset: handle.offset,
                                                 reason: "entry \(entries.count) has a malformed internal key")
                    }
                    entries.append(TableEntrySummary(key: key, sequence: sequence, kind: kind,
                                                     valueSizeBytes: it.value.count))
                    try it.next()
                }
                let compression = BlockCompression(rawValue: type) == .lz4 ? "lz4" : "none"
                let summary = TableBlockSummary(
                    index: start + i, location: TableBlockLocation(offset: handle.offset, sizeBytes: handle.size),
                    compression: compression, contentSizeBytes: block.count, entryCount: entries.count)
                decoded.append((summary, entries))
            }
            for (summary, entries) in decoded { try body(summary, entries) }
            start += group.count
        }
    }
}

extension DatabaseTools {
    /// Opens the table file at `path` (footer, index, filter and properties
    /// are read and checked now) for dumping.
    public static func dumpSST(path: String) throws -> TableDump {
        TableDump(reader: try openTable(path: path, backend: makeBackend()))
    }
}
