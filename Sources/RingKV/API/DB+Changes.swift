/// The change feed (docs/REPLICATION.md): the database's committed writes
/// in sequence order, read back from its WAL files.
extension DB {
    /// The sequence of the last committed (published) write: a batch of n
    /// operations takes n consecutive sequences, and a read sees every
    /// write up to this one. On a replica, the last one applied.
    public var latestSequence: UInt64 { impl.mu.withLock { impl.lastSequence } }

    /// The committed batches whose first sequence is above `since`, in
    /// order, one `CommittedBatch` per write (a `WriteBatch`, `put`,
    /// `delete`, `deleteRange`); a batch that starts at or before `since`
    /// is not yielded, even if it ends after it. After the backlog the
    /// sequence suspends until the commit pipeline publishes the next
    /// group (no polling) — across log switches and flushes — and ends
    /// only by throwing: `DBError.closed` when the database closes,
    /// `CancellationError` when the task is cancelled.
    ///
    /// `durability` chooses between every published group (`.committed`,
    /// default) and only synced ones (`.synced`; see `ChangeDurability`).
    /// Throws `DBError.changesUnavailable(oldest:)` (from the first
    /// `next()`) when the WAL holding `since + 1` is no longer kept
    /// (`Options.changeRetentionBytes`). The WAL is read on the calling
    /// task, a batch of records at a time (page-cache reads, usually).
    public func changes(since: UInt64, durability: ChangeDurability = .committed) -> ChangeFeed {
        ChangeFeed(impl: impl, since: since, durability: durability)
    }
}

extension DB {
    /// The committed batches after `since` that are published now, at most
    /// `maxBatches` (kvctl `changes`; synchronous, no waiting).
    package func changesBacklog(since: UInt64, maxBatches: Int) throws -> [CommittedBatch] {
        let impl = self.impl
        let reader = ChangeLogReader(dbPath: impl.path, backend: impl.backend, since: since, durability: .committed,
                                     resolveKeyspaces: { impl.feedKeyspacesById() })
        var out: [CommittedBatch] = []
        while out.count < maxBatches {
            let before = out.count
            try reader.read(upTo: impl.feed.current, maxBatches: min(maxBatches, out.count + 4096), into: &out)
            if out.count == before { break }
        }
        return out
    }
}

/// `DB.changes(since:durability:)`: an `AsyncSequence` of
/// `CommittedBatch`. Each iterator reads the WAL on its own
/// (ChangeLogReader.swift) and waits on the commit pipeline's
/// `FeedNotifier` when it has caught up.
public struct ChangeFeed: AsyncSequence, Sendable {
    public typealias Element = CommittedBatch
    let impl: DBImpl
    let since: UInt64
    let durability: ChangeDurability

    public func makeAsyncIterator() -> Iterator {
        let impl = self.impl
        let reader = ChangeLogReader(dbPath: impl.path, backend: impl.backend, since: since, durability: durability,
                                     resolveKeyspaces: { impl.feedKeyspacesById() })
        return Iterator(impl: impl, reader: reader)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let impl: DBImpl
        let reader: ChangeLogReader
        var buffer: [CommittedBatch] = []
        var index = 0
        /// Batches decoded per read of the WAL.
        static let batchesPerRead = 1024

        init(impl: DBImpl, reader: ChangeLogReader) {
            self.impl = impl
            self.reader = reader
        }

        public mutating func next() async throws -> CommittedBatch? {
            while true {
                if index < buffer.count {
                    index += 1
                    return buffer[index - 1]
                }
                buffer.removeAll(keepingCapacity: true)
                index = 0
                try Task.checkCancellation()
                let mark = impl.feed.current
                if mark.closed { throw DBError.closed }
                try reader.read(upTo: mark, maxBatches: Iterator.batchesPerRead, into: &buffer)
                if buffer.isEmpty { await impl.feed.waitForChange(after: mark.generation) }
            }
        }
    }
}

extension DBImpl {
    /// Every keyspace by id, with its name and whether it has a ttl: the
    /// live ones and the dropped ones whose changes WAL files on disk may
    /// still hold (a feed may still read them; DroppedKeyspaces.swift).
    func feedKeyspacesById() -> [UInt32: FeedKeyspace] {
        mu.withLock {
            var found = versions.droppedKeyspaceRecords.mapValues {
                FeedKeyspace(name: $0.name, stamped: $0.options.ttl != nil)
            }
            for (id, keyspace) in keyspaces {
                found[id] = FeedKeyspace(name: keyspace.name, stamped: keyspace.stampsWriteTime)
            }
            return found
        }
    }
}
