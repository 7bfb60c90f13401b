/// A cursor over encoded internal keys (user key + 8-byte trailer) in
/// `InternalKey.compare` order. Memtables, blocks, tables and the merging
/// iterator all conform. Every iterator moves both ways: `next`/`prev`
/// from any valid position, in any mix.
///
/// `key` and `value` point into memory the iterator (or the structure it
/// walks) owns; they stay valid until the next call that moves the cursor.
/// Callers copy what they keep. Errors thrown are `DBError`.
protocol InternalIterator: AnyObject {
    var isValid: Bool { get }
    /// Positions at the first entry.
    func seekToFirst() throws(DBError)
    /// Positions at the last entry.
    func seekToLast() throws(DBError)
    /// Positions at the first entry whose internal key is >= `target`.
    func seek(_ target: UnsafeRawBufferPointer) throws(DBError)
    /// Adds to `batch` the block `seek(target)` would read (see the
    /// default implementation).
    func planSeekRead(_ target: UnsafeRawBufferPointer, into batch: inout SeekReadBatch) throws(DBError)
    /// Positions at the last entry whose internal key is <= `target`.
    func seekForPrev(_ target: UnsafeRawBufferPointer) throws(DBError)
    /// Advances; requires `isValid`.
    func next() throws(DBError)
    /// Steps back; requires `isValid`. Invalid before the first entry.
    func prev() throws(DBError)
    var key: UnsafeRawBufferPointer { get }
    var value: UnsafeRawBufferPointer { get }
}

extension InternalIterator {
    /// Adds to `batch` the table block a `seek(target)` would read from
    /// disk (`SeekReadBatch`); nothing for iterators without tables.
    func planSeekRead(_ target: UnsafeRawBufferPointer, into batch: inout SeekReadBatch) throws(DBError) {}

    /// `seek`, then one step back unless it landed on `target` itself;
    /// past the end, the last entry. Right for any iterator whose `seek`
    /// and `seekToLast` see the same entries (blocks, tables, memtables).
    func seekForPrev(_ target: UnsafeRawBufferPointer) throws(DBError) {
        try seek(target)
        if !isValid {
            try seekToLast()
        } else if InternalKey.compare(key, target) > 0 {
            try prev()
        }
    }
}
