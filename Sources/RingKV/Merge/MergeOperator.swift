/// Combines merge operands (`DB.merge`) with a key's value: read-modify-
/// write without a read at write time (RocksDB's merge operator).
///
/// Data flow: `merge(key, operand)` stores the operand as an entry of its
/// own (internal value type 3, docs/FORMAT.md §Merge operands). A read
/// collects the key's operands newest first until it reaches a value (the
/// base), a deletion or covering range tombstone (base nil) or the oldest
/// entry (base nil), then calls `fullMerge` with the operands oldest
/// first. Flush and compaction fold runs of operands that no live snapshot
/// separates with `partialMerge`, and turn them into a plain value with
/// `fullMerge` once the base is known (docs/MERGE_TTL.md).
///
/// The operator must be deterministic and must not depend on how operands
/// were grouped: `fullMerge(e, [a, b, c])` must equal
/// `fullMerge(e, [a, partialMerge([b, c])])` whenever `partialMerge`
/// returns a value. The MANIFEST stores the operator's `name` (the first
/// writing open with one): an open with an operator of another name is
/// refused (Merge/MergeOperatorName.swift).
public protocol MergeOperator: Sendable {
    /// The operator's identity (`"CounterMerge"`), stored in the MANIFEST
    /// and checked at open; at most 255 UTF-8 bytes. Change it when the
    /// operand format changes.
    var name: String { get }

    /// The value of `key` after applying `operands` (oldest first) to
    /// `existing` (nil: the key had no value). Throwing makes the read that
    /// needed it fail with `DBError.mergeFailed`; nothing stored changes.
    func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws -> [UInt8]

    /// One operand equivalent to `operands` (oldest first, two or more),
    /// or nil when they cannot be combined without the base value: they are
    /// then kept as they are. Default: nil.
    func partialMerge(key: [UInt8], operands: [[UInt8]]) -> [UInt8]?

    /// Refuses an operand this operator cannot read, when it is written
    /// (`DB.merge`, `WriteBatch.merge` at `DB.write`): a bad operand is an
    /// error at write time, never a corrupt value later. Default: accepts
    /// everything.
    func validate(operand: [UInt8]) throws
}

extension MergeOperator {
    public func partialMerge(key: [UInt8], operands: [[UInt8]]) -> [UInt8]? { nil }
    public func validate(operand: [UInt8]) throws {}
}

/// The built-in counter: values and operands are Int64 in 8 little-endian
/// bytes; merging adds them (wrapping on overflow, as RocksDB's
/// UInt64AddOperator does). An existing value that is not 8 bytes (the key
/// was `put` with something else) makes the read throw
/// `DBError.mergeFailed` rather than guess.
///
///     options.mergeOperator = CounterMerge()
///     try db.merge(key, CounterMerge.operand(5))
///     let n = CounterMerge.value(try db.get(key))   // 5
public struct CounterMerge: MergeOperator {
    public init() {}

    public var name: String { "CounterMerge" }

    /// The operand that adds `n`.
    public static func operand(_ n: Int64) -> [UInt8] {
        withUnsafeBytes(of: n.littleEndian) { Array($0) }
    }

    /// The counter a stored value holds (nil: absent, or not 8 bytes).
    public static func value(_ bytes: [UInt8]?) -> Int64? {
        guard let bytes, bytes.count == 8 else { return nil }
        return bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
    }

    public func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws -> [UInt8] {
        var sum: Int64 = 0
        if let existing {
            guard let base = CounterMerge.value(existing) else {
                throw CounterMergeError(reason: "existing value of \(existing.count) bytes is not an Int64 (8 bytes)")
            }
            sum = base
        }
        for operand in operands {
            guard let n = CounterMerge.value(operand) else {
                throw CounterMergeError(reason: "operand of \(operand.count) bytes is not an Int64 (8 bytes)")
            }
            sum = sum &+ n
        }
        return CounterMerge.operand(sum)
    }

    public func partialMerge(key: [UInt8], operands: [[UInt8]]) -> [UInt8]? {
        var sum: Int64 = 0
        for operand in operands {
            guard let n = CounterMerge.value(operand) else { return nil }
            sum = sum &+ n
        }
        return CounterMerge.operand(sum)
    }

    public func validate(operand: [UInt8]) throws {
        guard operand.count == 8 else {
            throw CounterMergeError(reason: "CounterMerge operand must be 8 bytes (Int64 little endian), "
                                    + "got \(operand.count)")
        }
    }
}

/// Why `CounterMerge` refused an operand or a value.
public struct CounterMergeError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { reason }
}
