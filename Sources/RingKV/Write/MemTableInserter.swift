/// Applies writes to memtables (one inserter at a time: the group leader,
/// or recovery). Operations of the default keyspace go to the group's
/// default memtable without a lookup; those of other keyspaces to the
/// memtable the leader resolved for the group (`GroupMemtables`).
package enum MemTableInserter {
    /// Inserts `writer`'s operations with sequence numbers from its
    /// `firstSequence` on.
    static func apply(_ writer: PendingWrite, to memtables: GroupMemtables) throws(DBError) {
        let sequence = writer.firstSequence
        switch writer.payload {
        case .put(let key, let value):
            let memtable = writer.targetMemtable ?? memtables.defaultMemtable
            memtable.add(sequence: sequence, type: .value, key: key, value: value)
        case .delete(let key):
            let memtable = writer.targetMemtable ?? memtables.defaultMemtable
            memtable.add(sequence: sequence, type: .deletion, key: key, value: UnsafeRawBufferPointer(start: nil, count: 0))
        case .batch(let rep, _):
            _ = try rep.withBytes { (raw) throws(DBError) in
                try apply(raw, path: "write batch", firstSequence: sequence) { id in memtables.memtable(id) }
            }
        case .none, .switchMemtable, .control, .syncLog:
            break
        }
    }

    /// Applies a batch read back from a WAL. It is checked completely
    /// before anything is inserted: the decoding, every keyspace id (one
    /// above `maxKeyspaceId` is damage: ids are recorded before they are
    /// used), the sequence range (it must start after `previous`, the last
    /// sequence replayed before it, and stay below 2^56), so damaged-but-
    /// checksummed bytes become a corruption error, never a half-applied
    /// batch or a memtable trap. `memtable` gives each keyspace's memtable,
    /// or nil to skip its operations (a dropped keyspace, or one whose
    /// tables already hold this log). Returns the last sequence number the
    /// batch used.
    @discardableResult
    package static func applyRecovered(_ raw: UnsafeRawBufferPointer, path: String, after previous: SequenceNumber,
                                       maxKeyspaceId: UInt32,
                                       memtable: (UInt32) -> MemTable?) throws(DBError) -> SequenceNumber {
        do throws(DecodeError) {
            let (first, count) = try WriteBatch.header(raw)
            var unknown: UInt32?
            try WriteBatch.forEach(raw) { keyspace, _, _, _ in
                if keyspace > maxKeyspaceId && unknown == nil { unknown = keyspace }
            }
            if let unknown {
                throw DecodeError(reason: "operation for keyspace \(unknown), above the largest keyspace id "
                                  + "\(maxKeyspaceId) the MANIFEST records", offset: 0)
            }
            guard count > 0, first > previous, first <= InternalKey.maxSequenceNumber - UInt64(count) else {
                throw DecodeError(reason: "write batch sequence \(first) (+\(count)) does not follow \(previous)",
                                  offset: 0)
            }
        } catch {
            throw DBError.corruption(path: path, offset: UInt64(error.offset), reason: error.reason)
        }
        return try apply(raw, path: path, memtable: memtable)
    }

    /// A one-memtable form of `applyRecovered` for a batch of the default
    /// keyspace alone (tests, fuzzing).
    @discardableResult
    package static func applyRecovered(_ raw: UnsafeRawBufferPointer, to memtable: MemTable, path: String,
                                       after previous: SequenceNumber) throws(DBError) -> SequenceNumber {
        try applyRecovered(raw, path: path, after: previous, maxKeyspaceId: 0) { _ in memtable }
    }

    /// Inserts the operations of an encoded batch, numbered from
    /// `firstSequence` (nil: the sequence in the batch's header), each into
    /// its keyspace's memtable (nil: skipped; it still takes its sequence).
    /// Returns the last sequence number used.
    @discardableResult
    static func apply(_ raw: UnsafeRawBufferPointer, path: String, firstSequence: SequenceNumber? = nil,
                      memtable: (UInt32) -> MemTable?) throws(DBError) -> SequenceNumber {
        do throws(DecodeError) {
            var sequence: SequenceNumber
            if let firstSequence { sequence = firstSequence } else { sequence = try WriteBatch.header(raw).sequence }
            var lastKeyspace: UInt32 = 0
            var lastMemtable = memtable(0)
            try WriteBatch.forEach(raw) { keyspace, type, key, value in
                if keyspace != lastKeyspace {
                    lastKeyspace = keyspace
                    lastMemtable = memtable(keyspace)
                }
                lastMemtable?.add(sequence: sequence, type: type, key: key, value: value)
                sequence += 1
            }
            return sequence - 1
        } catch {
            throw DBError.corruption(path: path, offset: UInt64(error.offset), reason: error.reason)
        }
    }
}

/// The memtables one write group inserts into, captured by the leader
/// under `mu`: the default keyspace's, and those of the other keyspaces
/// the group's batches name (resolved once per group, not per operation).
struct GroupMemtables {
    let defaultMemtable: MemTable
    /// Keyspace id -> its active memtable; empty for a default-only group.
    let others: [UInt32: MemTable]

    @inline(__always)
    func memtable(_ id: UInt32) -> MemTable? { id == 0 ? defaultMemtable : others[id] }
}
