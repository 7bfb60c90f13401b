/// One operation of a committed write, as the change feed
/// (`DB.changes(since:)`) yields it: the keyspace by name, the bytes as
/// written. A batch of n operations took n consecutive sequences; the
/// changes of a `CommittedBatch` are in that order.
public enum Change: Sendable, Equatable {
    case put(keyspace: String, key: [UInt8], value: [UInt8])
    case delete(keyspace: String, key: [UInt8])
    /// Every key `k` with `from <= k < to` (`deleteRange`).
    case deleteRange(keyspace: String, from: [UInt8], to: [UInt8])
    /// A merge operand (`merge(_:_:)`; WAL operation types 3 and 7).
    case merge(keyspace: String, key: [UInt8], operand: [UInt8])

    /// The name of the keyspace the operation wrote to.
    public var keyspace: String {
        switch self {
        case .put(let keyspace, _, _), .delete(let keyspace, _), .deleteRange(let keyspace, _, _),
             .merge(let keyspace, _, _):
            return keyspace
        }
    }
}

/// One committed write (a `put`, `delete`, `deleteRange` or `WriteBatch`;
/// one WAL record): its first sequence and its operations.
public struct CommittedBatch: Sendable, Equatable {
    /// The sequence of the first change; change i took `sequence + i`.
    public let sequence: UInt64
    public let changes: [Change]
    /// The keyspaces among `changes` that have a ttl on the primary: their
    /// put values end in the 8-byte write time (docs/MERGE_TTL.md). A
    /// replica's `apply` wants a ttl on exactly these of its keyspaces.
    public let stampedKeyspaces: Set<String>

    public init(sequence: UInt64, changes: [Change], stampedKeyspaces: Set<String> = []) {
        self.sequence = sequence
        self.changes = changes
        self.stampedKeyspaces = stampedKeyspaces
    }

    /// The sequence of the last change (`sequence` for an empty batch;
    /// UInt64.max for a batch, built by hand, that would run past it).
    public var lastSequence: UInt64 {
        if changes.isEmpty { return sequence }
        let (last, overflow) = sequence.addingReportingOverflow(UInt64(changes.count) - 1)
        return overflow ? UInt64.max : last
    }
}

/// Which commits a change feed yields (docs/REPLICATION.md §Durability).
public enum ChangeDurability: Sendable, Equatable {
    /// Every published group — what readers of the database already see.
    /// Its bytes reached the kernel (they survive a crash of the process)
    /// but an unsynced group may still be lost to a power failure; a
    /// replica fed from it may then hold writes the primary lost.
    case committed
    /// Only groups an fdatasync made durable: synced writes at once,
    /// unsynced ones once a later synced write, a memtable switch or
    /// `close` of a log syncs them. A replica fed from it never runs ahead
    /// of what the primary keeps through a power failure.
    case synced
}
