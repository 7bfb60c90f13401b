/// Applies writes to a memtable (one inserter at a time: the group leader,
/// or recovery).
package enum MemTableInserter {
    /// Inserts `writer`'s operations with sequence numbers from its
    /// `firstSequence` on.
    static func apply(_ writer: PendingWrite, to memtable: MemTable) throws(DBError) {
        let sequence = writer.firstSequence
        switch writer.payload {
        case .put(let key, let value):
            memtable.add(sequence: sequence, type: .value, key: key, value: value)
        case .delete(let key):
            memtable.add(sequence: sequence, type: .deletion, key: key, value: UnsafeRawBufferPointer(start: nil, count: 0))
        case .batch(let rep, _):
            _ = try rep.withBytes { (raw) throws(DBError) in
                try apply(raw, to: memtable, path: "write batch", firstSequence: sequence)
            }
        case .none, .switchMemtable:
            break
        }
    }

    /// Applies a batch read back from a WAL. It is checked completely
    /// before anything is inserted: the decoding, the sequence range (it
    /// must start after `previous`, the last sequence replayed before it,
    /// and stay below 2^56), so damaged-but-checksummed bytes become a
    /// corruption error, never a half-applied batch or a memtable trap.
    /// Returns the last sequence number the batch used.
    @discardableResult
    package static func applyRecovered(_ raw: UnsafeRawBufferPointer, to memtable: MemTable, path: String,
                                       after previous: SequenceNumber) throws(DBError) -> SequenceNumber {
        do throws(DecodeError) {
            let (first, count) = try WriteBatch.header(raw)
            try WriteBatch.forEach(raw) { _, _, _ in }
            guard count > 0, first > previous, first <= InternalKey.maxSequenceNumber - UInt64(count) else {
                throw DecodeError(reason: "write batch sequence \(first) (+\(count)) does not follow \(previous)",
                                  offset: 0)
            }
        } catch {
            throw DBError.corruption(path: path, offset: UInt64(error.offset), reason: error.reason)
        }
        return try apply(raw, to: memtable, path: path)
    }

    /// Inserts the operations of an encoded batch, numbered from
    /// `firstSequence` (nil: the sequence in the batch's header). Returns
    /// the last sequence number used.
    @discardableResult
    static func apply(_ raw: UnsafeRawBufferPointer, to memtable: MemTable, path: String,
                      firstSequence: SequenceNumber? = nil) throws(DBError) -> SequenceNumber {
        do throws(DecodeError) {
            var sequence: SequenceNumber
            if let firstSequence { sequence = firstSequence } else { sequence = try WriteBatch.header(raw).sequence }
            try WriteBatch.forEach(raw) { type, key, value in
                memtable.add(sequence: sequence, type: type, key: key, value: value)
                sequence += 1
            }
            return sequence - 1
        } catch {
            throw DBError.corruption(path: path, offset: UInt64(error.offset), reason: error.reason)
        }
    }
}
