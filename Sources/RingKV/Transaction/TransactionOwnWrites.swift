/// The index of a transaction's own point writes (read-your-writes):
/// `TransactionState.OwnKey` → `OwnWrite`, the last write of each key.
///
/// How data flows: entries go into one array in first-write order; a
/// lookup scans it while it is short (a transaction usually writes a few
/// keys: no hashing, one allocation), and past `linearLimit` entries a
/// dictionary from key to position is built once and kept up to date.
struct TransactionOwnWrites {
    static let linearLimit = 16

    private(set) var entries: [(key: TransactionState.OwnKey, write: TransactionState.OwnWrite)] = []
    private var positions: [TransactionState.OwnKey: Int] = [:]

    private func position(of key: TransactionState.OwnKey) -> Int? {
        if entries.count <= TransactionOwnWrites.linearLimit {
            for i in entries.indices where entries[i].key.keyspace == key.keyspace && entries[i].key.key == key.key {
                return i
            }
            return nil
        }
        return positions[key]
    }

    subscript(key: TransactionState.OwnKey) -> TransactionState.OwnWrite? {
        guard let i = position(of: key) else { return nil }
        return entries[i].write
    }

    /// Sets the write of `key`, replacing its previous one.
    mutating func set(_ key: TransactionState.OwnKey, _ write: TransactionState.OwnWrite) {
        if let i = position(of: key) {
            entries[i].write = write
            return
        }
        if entries.isEmpty { entries.reserveCapacity(4) }
        entries.append((key, write))
        if entries.count > TransactionOwnWrites.linearLimit {
            if positions.isEmpty {
                for i in entries.indices { positions[entries[i].key] = i }
            } else {
                positions[key] = entries.count - 1
            }
        }
    }

    /// Appends `operand` to the write of `key` (which must exist) and
    /// moves it to `ordinal`.
    mutating func appendOperand(_ key: TransactionState.OwnKey, _ operand: [UInt8], ordinal: Int) {
        guard let i = position(of: key) else { return }
        entries[i].write.operands.append(operand)
        entries[i].write.ordinal = ordinal
    }

    mutating func removeAll() {
        entries = []
        positions = [:]
    }
}
