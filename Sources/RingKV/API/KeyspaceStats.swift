/// One keyspace's part of the engine (`Keyspace.stats()`, and per name in
/// `DBStats.keyspaces`): its levels, memtables and background work.
public struct KeyspaceStats: Sendable, CustomStringConvertible {
    /// The keyspace's name ("default" for the DB's own).
    public var name: String
    /// Its levels, L0 first: tables and bytes of this keyspace only.
    public var levels: [DBStats.Level]
    /// Memory held by its active memtable.
    public var memtableBytes: Int
    /// Memory held by its memtable being flushed (0 when none is).
    public var immutableMemtableBytes: Int
    /// Its memtables written to L0 tables, and their table bytes.
    public var flushes: UInt64
    /// Table bytes its flushes wrote.
    public var flushBytesWritten: UInt64
    /// Installed compactions of its tables, and the bytes they wrote.
    public var compactions: UInt64
    /// Table bytes its compactions wrote.
    public var compactionBytesWritten: UInt64

    /// Tables in all its levels.
    public var files: Int { levels.reduce(0) { $0 + $1.files } }
    /// Bytes of all its tables.
    public var bytes: UInt64 { levels.reduce(0) { $0 + $1.bytes } }

    /// Two lines: the keyspace's tables per level, memtables and work.
    public var description: String {
        let tables = levels.filter { $0.files > 0 }.map { "L\($0.level) \($0.files) files \($0.bytes) B" }
        return "keyspace \(name): " + (tables.isEmpty ? "no tables" : tables.joined(separator: ", "))
            + "\n  memtable \(memtableBytes) B, immutable \(immutableMemtableBytes) B; flushes \(flushes) "
            + "(\(flushBytesWritten) B), compactions \(compactions) (\(compactionBytesWritten) B written)"
    }
}
