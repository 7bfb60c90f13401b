/// Walks a whole table in key order: an iterator over the index block picks
/// the data block, which is read (through `TableReader.readBlocks`) only
/// when the cursor enters it. Empty data blocks are skipped.
final class TableIterator: InternalIterator {
    let reader: TableReader
    private let index: BlockIterator
    private var data: BlockIterator?
    private var dataHandle: BlockHandle?

    init(_ reader: TableReader) {
        self.reader = reader
        self.index = reader.indexBlock.makeIterator()
    }

    var isValid: Bool { data?.isValid ?? false }

    var key: UnsafeRawBufferPointer {
        precondition(isValid, "TableIterator.key on an invalid iterator")
        return data!.key
    }

    var value: UnsafeRawBufferPointer {
        precondition(isValid, "TableIterator.value on an invalid iterator")
        return data!.value
    }

    func seekToFirst() throws {
        try index.seekToFirst()
        try loadDataBlock()
        try data?.seekToFirst()
        try skipExhaustedBlocks()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws {
        try index.seek(target)
        try loadDataBlock()
        try data?.seek(target)
        try skipExhaustedBlocks()
    }

    func next() throws {
        precondition(isValid, "TableIterator.next on an invalid iterator")
        try data!.next()
        try skipExhaustedBlocks()
    }

    /// The handle of the data block under the cursor (for tools and tests).
    var currentBlockHandle: BlockHandle? { isValid ? dataHandle : nil }

    // MARK: - Block switching

    /// Points `data` at the block the index cursor names (nil past the end).
    private func loadDataBlock() throws {
        guard index.isValid else {
            data = nil
            dataHandle = nil
            return
        }
        let handle = try reader.decodeIndexValue(index.value)
        if handle == dataHandle, data != nil { return }
        data = nil
        let blocks = try reader.readBlocks([handle])
        data = blocks[0].makeIterator()
        dataHandle = handle
    }

    /// While the data cursor is past its block, moves to the next block.
    private func skipExhaustedBlocks() throws {
        while let d = data, !d.isValid {
            try index.next()
            try loadDataBlock()
            try data?.seekToFirst()
        }
    }
}
