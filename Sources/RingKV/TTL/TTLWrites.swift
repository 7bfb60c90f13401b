/// Where writes into a TTL keyspace get their write time (TTLStamp.swift):
/// once, on the database's entry points (`DBImpl.write`, `put`, a
/// transaction's commit; the async forms reach these), before the group
/// commit — so the WAL, replay, flush and compaction keep that time. A
/// replica's `apply` (`applyReplicated`) does not come here: the
/// primary's stamps arrive in its change feed's values and are kept.
extension DBImpl {
    /// `batch` with the write time appended to each put into a TTL
    /// keyspace (one clock reading for the batch). A merge into a TTL
    /// keyspace is refused (`DBError.invalidArgument`), the whole batch
    /// with it. A batch naming no TTL keyspace is returned as it is.
    func stampedForTTL(_ batch: WriteBatch) throws(DBError) -> WriteBatch {
        guard batch.keyspaces.contains(where: { $0.stampsWriteTime }) else { return batch }
        var ids = Set<UInt32>()
        var names: [UInt32: String] = [:]
        for keyspace in batch.keyspaces where keyspace.stampsWriteTime {
            ids.insert(keyspace.id)
            names[keyspace.id] = keyspace.name
        }
        let stamp = TTLStamp.bytes(options.ttlNowNanos())
        var operations = WriteBatch()
        var refusal: DBError?
        var scratch: [UInt8] = []
        try batch.rep.withBytes { (raw) throws(DBError) in
            do throws(DecodeError) {
                try WriteBatch.forEach(raw) { id, type, key, value in
                    switch type {
                    case .value where ids.contains(id):
                        scratch.removeAll(keepingCapacity: true)
                        scratch.append(contentsOf: value)
                        scratch.append(contentsOf: stamp)
                        scratch.withUnsafeBytes { operations.appendPut(key, $0, keyspace: id) }
                    case .value:
                        operations.appendPut(key, value, keyspace: id)
                    case .deletion:
                        operations.appendDelete(key, keyspace: id)
                    case .rangeDeletion:
                        operations.appendDeleteRange(key, value, keyspace: id)
                    case .merge:
                        if ids.contains(id), refusal == nil {
                            refusal = TTLPolicy.mergeRefusal(keyspace: names[id] ?? "\(id)")
                        }
                        operations.appendMerge(key, value, keyspace: id)
                    }
                }
            } catch {
                throw DBError.internalError("a write batch built in memory does not decode: \(error.reason)")
            }
        }
        if let refusal { throw refusal }
        return batch.withOperations(of: operations)
    }

    /// Refuses a batch with a merge into a TTL keyspace before it is
    /// queued (`checkMerges`): an async write must fail alone, not the
    /// merged group of writes it would join.
    func refuseMergesIntoTTLKeyspaces(_ batch: WriteBatch) throws(DBError) {
        guard batch.hasMerge, batch.keyspaces.contains(where: { $0.stampsWriteTime }) else { return }
        _ = try stampedForTTL(batch)
    }

    /// `put` of one value into a TTL keyspace: the value with its write
    /// time appended.
    func putStamped(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, sync: Bool,
                    keyspace: KeyspaceData) throws(DBError) {
        let stamped = TTLStamp.stamped(value, nanos: options.ttlNowNanos())
        try stamped.withBytes { (v) throws(DBError) in
            try pipeline.commit(.put(key: key, value: v), sync: sync, keyspace: keyspace, in: self)
        }
    }
}
