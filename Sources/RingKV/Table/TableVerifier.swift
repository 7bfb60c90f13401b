/// `kvctl verify` for one table: every block's CRC, every entry's framing,
/// key order across the whole table, and the properties' counts.
extension TableReader {
    /// Data blocks read per `readBatch` while verifying.
    package static let verifyBatchBlocks = 64

    /// Reads every block of the table and checks it. Throws the first
    /// problem as `DBError.corruption` with the path and the block offset.
    package func verifyChecksums() throws {
        // Meta blocks were checked at open; read them again so a damage
        // that happened since is caught too.
        var metaHandles = [footer.index, footer.properties]
        if let f = footer.filter { metaHandles.append(f) }
        let io = TableFileIO(file: file, backend: backend, fileSizeBytes: fileSizeBytes)
        try io.readStored(metaHandles) { (i, stored) throws(DBError) in
            try BlockCodec.withDecodedContents(stored, path: path, offset: metaHandles[i].offset) { _ in }
        }
        // The range deletion block: CRC, encoding, each range non-empty, order, count.
        _ = try TableReader.readRangeTombstones(io: io, footer: footer, properties: properties,
                                               limit: fileSizeBytes - UInt64(TableFooter.sizeBytes))
        // The prefix filter block: CRC and filter encoding.
        _ = try TableReader.readPrefixFilter(io: io, properties: properties,
                                             limit: fileSizeBytes - UInt64(TableFooter.sizeBytes))

        var handles: [BlockHandle] = []
        let index = indexBlock.makeIterator()
        try index.seekToFirst()
        var expectedOffset: UInt64 = 0
        while index.isValid {
            let handle = try decodeIndexValue(index.value)
            guard handle.offset == expectedOffset else {
                throw DBError.corruption(path: path, offset: handle.offset,
                                         reason: "data block at \(handle.offset) but the previous one ended at \(expectedOffset)")
            }
            expectedOffset = handle.offset + handle.sizeWithTrailer
            handles.append(handle)
            try index.next()
        }

        var previousKey: [UInt8] = []
        var entries: UInt64 = 0
        var start = 0
        while start < handles.count {
            let group = Array(handles[start..<min(start + TableReader.verifyBatchBlocks, handles.count)])
            let blocks = try readBlocks(group)
            for block in blocks {
                let it = block.makeIterator()
                try it.seekToFirst()
                while it.isValid {
                    let inOrder = previousKey.isEmpty || previousKey.withUnsafeBytes { InternalKey.compare($0, it.key) < 0 }
                    guard inOrder else {
                        throw DBError.corruption(path: path, offset: block.fileOffset, reason: "keys out of order")
                    }
                    previousKey.removeAll(keepingCapacity: true)
                    previousKey.append(contentsOf: it.key)
                    entries += 1
                    try it.next()
                }
            }
            start += group.count
        }
        guard entries == properties.entryCount else {
            throw DBError.corruption(path: path, offset: footer.properties.offset,
                                     reason: "properties say \(properties.entryCount) entries, the data blocks hold \(entries)")
        }
    }
}
