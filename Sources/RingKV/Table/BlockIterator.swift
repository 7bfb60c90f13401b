/// Walks the entries of one `Block` in key order: a `BlockCursor` (which
/// does the checked decoding) on the heap, for iterators that live across
/// calls. A malformed block throws `DBError.corruption` naming the table
/// and block.
///
/// `key` points into a buffer the iterator owns and `value` into the
/// block; both stay valid until the cursor moves. The iterator keeps its
/// block alive. `reset(to:)` moves it to another block, reusing its key
/// buffer (a table iterator walks many blocks with one of these).
package final class BlockIterator: InternalIterator {
    private(set) var block: Block
    // Exclusivity is unchecked: the iterator is used by one thread at a
    // time (InternalIterator contract) and no method re-enters another.
    @exclusivity(unchecked) private var cursor: BlockCursor

    init(_ block: Block) {
        self.block = block
        self.cursor = BlockCursor(block.layout, scratch: nil)
    }

    /// Points the iterator at `block` (invalid until positioned).
    func reset(to block: Block) {
        self.block = block
        cursor.reset(to: block.layout)
    }

    package var isValid: Bool { cursor.isValid }

    package var key: UnsafeRawBufferPointer {
        precondition(isValid, "BlockIterator.key on an invalid iterator")
        return cursor.key
    }

    package var value: UnsafeRawBufferPointer {
        precondition(isValid, "BlockIterator.value on an invalid iterator")
        return cursor.value
    }

    package func seekToFirst() throws(DBError) {
        do throws(DecodeError) { try cursor.seekToFirst() } catch { throw block.corruption(error) }
    }

    package func next() throws(DBError) {
        precondition(isValid, "BlockIterator.next on an invalid iterator")
        do throws(DecodeError) { try cursor.next() } catch { throw block.corruption(error) }
    }

    package func seekToLast() throws(DBError) {
        do throws(DecodeError) { try cursor.seekToLast() } catch { throw block.corruption(error) }
    }

    package func prev() throws(DBError) {
        precondition(isValid, "BlockIterator.prev on an invalid iterator")
        do throws(DecodeError) { try cursor.prev() } catch { throw block.corruption(error) }
    }

    /// Makes the iterator invalid (past its last entry).
    func moveToEnd() { cursor.moveToEnd() }

    /// Positions at the first entry whose internal key is >= `target`.
    func seek(_ target: UnsafeRawBufferPointer) throws(DBError) {
        do throws(DecodeError) { try cursor.seek(target) } catch { throw block.corruption(error) }
    }

    /// `seek` through the block's `IndexSearch` (an index block's).
    func seek(_ target: UnsafeRawBufferPointer, using search: IndexSearch?) throws(DBError) {
        do throws(DecodeError) { try cursor.seek(target, using: search) } catch { throw block.corruption(error) }
    }
}
