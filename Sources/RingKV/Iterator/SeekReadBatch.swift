import RingIO

/// The data blocks one seek of a merging iterator will need from its
/// children's tables, read together before the children seek: every L0
/// table and every level the seek lands in has its own block to load, and
/// read one child at a time they cost one device round trip each (a YCSB E
/// scan over 16 L0 tables and three levels: about 19 reads in a row when
/// the data does not fit in memory). Planned here, they go to the device
/// in one `readBatch` — several requests in flight on the io_uring ring —
/// and land in the block cache, where each child's `seek` then finds its
/// block. Only user iterators with a block cache they fill take part
/// (`TableIterator.planSeekRead`); blocks already cached or in a child's
/// read-ahead window are not read again.
///
/// A failed read or a block that does not decode is left out: the child's
/// own `seek` reads it again and reports the error where it belongs.
struct SeekReadBatch {
    private struct Entry {
        let reader: TableReader
        let handle: BlockHandle
        let cache: BlockCache
        let counter: Counter?
        let batchCounter: Counter?
    }

    private var entries: [Entry] = []

    /// Fewer uncached blocks than this are left to the children's own
    /// reads (one block gains nothing from a batch).
    static let minimumBlocks = 2

    var count: Int { entries.count }

    mutating func add(_ reader: TableReader, _ handle: BlockHandle, cache: BlockCache, counter: Counter?,
                      batchCounter: Counter?) {
        if entries.contains(where: { $0.reader.fileNumber == reader.fileNumber && $0.handle == handle }) { return }
        entries.append(Entry(reader: reader, handle: handle, cache: cache, counter: counter, batchCounter: batchCounter))
    }

    /// Reads the planned blocks with one batch and caches them; does
    /// nothing below `minimumBlocks`.
    func execute() {
        guard entries.count >= SeekReadBatch.minimumBlocks, let backend = entries.first?.reader.backend else { return }
        var plan = AlignedReadPlan()
        var planned: [Entry] = []
        for entry in entries {
            guard (try? entry.reader.planRead(entry.handle, into: &plan)) != nil else { continue }
            planned.append(entry)
        }
        guard let result = try? plan.execute(backend: backend) else { return }
        entries.first?.batchCounter?.add(1)
        for (span, entry) in planned.enumerated() {
            guard let block = try? entry.reader.decodeBlock(result, span: span) else { continue }
            entry.cache.insert(fileNumber: entry.reader.fileNumber, handle: entry.handle, block)
            entry.counter?.add(1)
        }
    }
}
