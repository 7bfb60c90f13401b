/// Cursor over a memtable's entries in `InternalKey.compare` order.
/// It may run while the inserter adds entries: it sees every entry linked
/// before it stepped past that position, and never a partially built one.
/// The skiplist has forward links only, so `prev` and `seekToLast` search
/// from the top (O(log n) per step, as in LevelDB).
///
/// `key` and `value` point into the memtable's arena, which this iterator
/// keeps alive by holding the memtable. One iterator is used by one thread.
final class MemTableIterator: InternalIterator {
    private let memTable: MemTable
    private var node: UnsafeMutableRawPointer?
    private(set) var key = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var value = UnsafeRawBufferPointer(start: nil, count: 0)

    init(_ memTable: MemTable) {
        self.memTable = memTable
    }

    var isValid: Bool { node != nil }

    func seekToFirst() {
        position(at: memTable.list.first)
    }

    /// `target` is an encoded internal key (user key + 8-byte trailer).
    func seek(_ target: UnsafeRawBufferPointer) {
        position(at: memTable.list.seek(SkipList.Target(internalKey: target)))
    }

    func next() {
        guard let node else { preconditionFailure("MemTableIterator.next() on an invalid iterator") }
        position(at: SkipList.next(node, level: 0))
    }

    func seekToLast() {
        position(at: memTable.list.last())
    }

    func prev() {
        guard node != nil else { preconditionFailure("MemTableIterator.prev() on an invalid iterator") }
        position(at: memTable.list.lastBefore(SkipList.Target(internalKey: key)))
    }

    @inline(__always)
    private func position(at newNode: UnsafeMutableRawPointer?) {
        node = newNode
        if let newNode {
            key = SkipList.internalKey(newNode)
            value = MemTableEntry.value(following: key)
        } else {
            key = UnsafeRawBufferPointer(start: nil, count: 0)
            value = UnsafeRawBufferPointer(start: nil, count: 0)
        }
    }
}
