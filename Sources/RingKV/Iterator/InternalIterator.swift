/// A cursor over encoded internal keys (user key + 8-byte trailer) in
/// `InternalKey.compare` order. Memtables, blocks, tables and the merging
/// iterator all conform.
///
/// `key` and `value` point into memory the iterator (or the structure it
/// walks) owns; they stay valid until the next call that moves the cursor.
/// Callers copy what they keep. Errors thrown are `DBError`.
protocol InternalIterator: AnyObject {
    var isValid: Bool { get }
    /// Positions at the first entry.
    func seekToFirst() throws
    /// Positions at the first entry whose internal key is >= `target`.
    func seek(_ target: UnsafeRawBufferPointer) throws
    /// Advances; requires `isValid`.
    func next() throws
    var key: UnsafeRawBufferPointer { get }
    var value: UnsafeRawBufferPointer { get }
}
