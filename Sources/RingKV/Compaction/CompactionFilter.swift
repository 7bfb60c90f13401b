/// Decides, during compaction, what becomes of a key's value
/// (`Options.compactionFilter`): keep it, remove the key, or replace the
/// value. RocksDB's CompactionFilter, in a narrower and safer form:
///
/// - It is asked only in compaction (not in flush), only about the newest
///   version of a key in that compaction, only when that version is a plain
///   value (not a deletion, not a merge operand — a value a compaction
///   folded from operands is asked like any other), and only when it is
///   newer than every live snapshot. So no snapshot's read ever changes.
/// - `.remove` writes a deletion at the value's sequence (dropped at once
///   when no deeper level may hold the key), so older versions below it
///   go too; `.replace(v)` writes `v` at the value's sequence.
/// - It must be deterministic enough for its purpose: it may be asked
///   again about the same value in a later compaction (after `.keep` or
///   `.replace`).
/// - A filter that traps (a Swift runtime error) kills the process inside
///   the compaction: its outputs are never installed (the MANIFEST edit is
///   the commit point), the inputs stay, and the next open deletes the
///   half-written tables. Nothing is lost; the filter runs again at the
///   next compaction of those tables. The protocol cannot throw: a filter
///   that cannot decide returns `.keep`.
public protocol CompactionFilter: Sendable {
    func filter(key: [UInt8], value: [UInt8]) -> CompactionDecision
}

/// What a `CompactionFilter` decides for one value.
public enum CompactionDecision: Sendable, Equatable {
    /// Keep the value as it is.
    case keep
    /// Remove the key (a deletion at the value's sequence).
    case remove
    /// Store these bytes instead, at the value's sequence.
    case replace([UInt8])
}
