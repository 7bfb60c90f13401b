/// An ordered set of puts and deletes applied atomically by `DB.write`,
/// in the default keyspace or, with `in:`, in any keyspaces of the
/// database (atomic across them too).
/// Keys and values are `[UInt8]` or any `KeyValueBytes` (`String`, `Data`,
/// slices), mixed freely.
///
/// Encoding (docs/FORMAT.md §WAL payload), also the WAL record payload:
///
///     sequence: fixed64   first sequence number (set at commit)
///     count:    fixed32   number of operations
///     then per operation:
///       type:  u8         1 = put, 0 = delete, 2 = range deletion, 3 = merge
///                         (keyspace 0); 4 = put, 5 = delete, 6 = range
///                         deletion, 7 = merge in a keyspace
///       keyspace: varint  (types 4–7 only) the keyspace id
///       key:   varint length + bytes   (range deletion: the start)
///       value: varint length + bytes   (puts; merges: the operand; range
///                                       deletion: the exclusive end)
///
/// An operation for the default keyspace keeps the old types, so a batch
/// that names no other keyspace encodes exactly as before keyspaces.
public struct WriteBatch: Sendable {
    package static let headerSize = 12

    private(set) var rep: [UInt8]
    /// The keyspaces other than "default" the operations name, each once.
    private(set) var keyspaces: [KeyspaceData] = []
    /// The databases whose "default" handles the operations name (not
    /// `keyspaces`: their operations carry id 0). A write refuses the batch
    /// when one is not its own, as for any other foreign keyspace.
    private(set) var defaultOwners: [ObjectIdentifier] = []
    /// Number of operations (also kept in `rep`'s header, whose sequence
    /// field stays 0 until the leader encodes the batch into the WAL).
    public private(set) var count = 0 {
        didSet { WriteBatch.setHeader(&rep, sequence: 0, count: count) }
    }
    private var largestKeyBytes = 0
    private var largestValueBytes = 0
    /// A `deleteRange` with `from > to` was added: `validate` refuses the batch.
    private var invertedRange: (from: [UInt8], to: [UInt8])?
    /// The batch holds a merge: `DB.write` checks its operands against the
    /// merge operator (WriteBatch+Merge.swift).
    private(set) var hasMerge = false

    /// An empty batch.
    public init() {
        rep = [UInt8](repeating: 0, count: WriteBatch.headerSize)
    }

    /// An empty batch whose storage already has room for `bytes` of
    /// operations (a transaction's: its puts then never grow it).
    init(reservingBytes bytes: Int) {
        rep = []
        rep.reserveCapacity(WriteBatch.headerSize + bytes)
        rep.append(contentsOf: repeatElement(0, count: WriteBatch.headerSize))
    }

    /// Adds "set `key` to `value`". Limits (`Options.maxKeySizeBytes`, …) are
    /// checked when the batch is written.
    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in appendPut(k, v) } }
    }

    /// `put` with a key and a value of any `KeyValueBytes` type (`String`,
    /// `Data`, a slice …), mixed freely: `batch.put("user:1", json)`.
    public mutating func put<Key: KeyValueBytes, Value: KeyValueBytes>(_ key: Key, _ value: Value) {
        key.withKeyValueBytes { k in value.withKeyValueBytes { v in appendPut(k, v) } }
    }

    /// Adds "remove `key`" (a deletion marker).
    public mutating func delete(_ key: [UInt8]) {
        key.withUnsafeBytes { appendDelete($0) }
    }

    /// `delete` of a key of any `KeyValueBytes` type.
    public mutating func delete<Key: KeyValueBytes>(_ key: Key) {
        key.withKeyValueBytes { appendDelete($0) }
    }

    /// Deletes every key `k` with `from <= k < to` that exists when the
    /// batch is written, as one range tombstone (one operation, whatever
    /// the range holds). `from == to` is an empty range that deletes
    /// nothing; `from > to` makes `DB.write` throw `DBError.invalidRange`, as
    /// RocksDB's DeleteRange does.
    public mutating func deleteRange(from: [UInt8], to: [UInt8]) {
        from.withUnsafeBytes { f in to.withUnsafeBytes { t in appendDeleteRange(f, t) } }
    }

    /// `deleteRange(from:to:)` with bounds of any `KeyValueBytes` types.
    public mutating func deleteRange<From: KeyValueBytes, To: KeyValueBytes>(from: From, to: To) {
        from.withKeyValueBytes { f in to.withKeyValueBytes { t in appendDeleteRange(f, t) } }
    }

    // MARK: - Operations in a keyspace

    /// Adds "set `key` to `value` in `keyspace`". A batch may name any
    /// keyspaces of one database; `DB.write` applies all of its operations
    /// atomically (one WAL record, also across a crash). Writing it fails
    /// with `DBError.keyspaceDropped` when one of them was dropped.
    public mutating func put(_ key: [UInt8], _ value: [UInt8], in keyspace: Keyspace) {
        let id = note(keyspace)
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in appendPut(k, v, keyspace: id) } }
    }

    /// `put(_:_:in:)` with a key and a value of any `KeyValueBytes` type.
    public mutating func put<Key: KeyValueBytes, Value: KeyValueBytes>(_ key: Key, _ value: Value,
                                                                      in keyspace: Keyspace) {
        let id = note(keyspace)
        key.withKeyValueBytes { k in value.withKeyValueBytes { v in appendPut(k, v, keyspace: id) } }
    }

    /// Adds "remove `key` from `keyspace`".
    public mutating func delete(_ key: [UInt8], in keyspace: Keyspace) {
        let id = note(keyspace)
        key.withUnsafeBytes { appendDelete($0, keyspace: id) }
    }

    /// `delete(_:in:)` of a key of any `KeyValueBytes` type.
    public mutating func delete<Key: KeyValueBytes>(_ key: Key, in keyspace: Keyspace) {
        let id = note(keyspace)
        key.withKeyValueBytes { appendDelete($0, keyspace: id) }
    }

    /// `deleteRange(from:to:)` in `keyspace`.
    public mutating func deleteRange(from: [UInt8], to: [UInt8], in keyspace: Keyspace) {
        let id = note(keyspace)
        from.withUnsafeBytes { f in to.withUnsafeBytes { t in appendDeleteRange(f, t, keyspace: id) } }
    }

    /// `deleteRange(from:to:in:)` with bounds of any `KeyValueBytes` types.
    public mutating func deleteRange<From: KeyValueBytes, To: KeyValueBytes>(from: From, to: To,
                                                                            in keyspace: Keyspace) {
        let id = note(keyspace)
        from.withKeyValueBytes { f in to.withKeyValueBytes { t in appendDeleteRange(f, t, keyspace: id) } }
    }

    /// Records `keyspace` among the batch's keyspaces; returns the id its
    /// operations carry (0 for the default keyspace: the old encoding).
    private mutating func note(_ keyspace: Keyspace) -> UInt32 {
        let data = keyspace.data
        guard data.id != 0 else {
            if defaultOwners.last != data.owner && !defaultOwners.contains(data.owner) {
                defaultOwners.append(data.owner)
            }
            return 0
        }
        if keyspaces.last !== data && !keyspaces.contains(where: { $0 === data }) { keyspaces.append(data) }
        return data.id
    }

    mutating func appendPut(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                                    keyspace: UInt32 = 0) {
        appendType(.value, keyspace: keyspace)
        appendLengthPrefixed(key)
        appendLengthPrefixed(value)
        largestKeyBytes = max(largestKeyBytes, key.count)
        largestValueBytes = max(largestValueBytes, value.count)
        count += 1
    }

    mutating func appendDelete(_ key: UnsafeRawBufferPointer, keyspace: UInt32 = 0) {
        appendType(.deletion, keyspace: keyspace)
        appendLengthPrefixed(key)
        largestKeyBytes = max(largestKeyBytes, key.count)
        count += 1
    }

    mutating func appendDeleteRange(_ from: UnsafeRawBufferPointer, _ to: UnsafeRawBufferPointer,
                                            keyspace: UInt32 = 0) {
        appendType(.rangeDeletion, keyspace: keyspace)
        appendLengthPrefixed(from)
        appendLengthPrefixed(to)
        largestKeyBytes = max(largestKeyBytes, from.count, to.count)
        if invertedRange == nil && compareBytes(from, to) > 0 { invertedRange = (Array(from), Array(to)) }
        count += 1
    }

    /// Adds a merge operand (WriteBatch+Merge.swift).
    mutating func appendMerge(_ key: UnsafeRawBufferPointer, _ operand: UnsafeRawBufferPointer, keyspace: UInt32) {
        appendType(.merge, keyspace: keyspace)
        appendLengthPrefixed(key)
        appendLengthPrefixed(operand)
        largestKeyBytes = max(largestKeyBytes, key.count)
        largestValueBytes = max(largestValueBytes, operand.count)
        hasMerge = true
        count += 1
    }

    /// Records `keyspace` for a merge in it (WriteBatch+Merge.swift).
    mutating func noteForMerge(_ keyspace: Keyspace) -> UInt32 { note(keyspace) }

    /// The operation's type byte, and for a keyspace other than 0 its id.
    private mutating func appendType(_ type: ValueType, keyspace: UInt32) {
        guard keyspace != 0 else {
            rep.append(type.rawValue)
            return
        }
        rep.append(WriteBatch.keyspaceOperationType(type))
        var v = UInt64(keyspace)
        while v >= 0x80 {
            rep.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        rep.append(UInt8(v))
    }

    /// The type byte of `type` in a keyspace other than 0 (docs/FORMAT.md
    /// §WAL payload): put 4, delete 5, range deletion 6, merge 7.
    static func keyspaceOperationType(_ type: ValueType) -> UInt8 {
        switch type {
        case .value: return 4
        case .deletion: return 5
        case .rangeDeletion: return 6
        case .merge: return 7
        }
    }

    /// Removes every operation, keeping the allocated storage for reuse.
    public mutating func clear() {
        rep.removeSubrange(WriteBatch.headerSize...)
        if !keyspaces.isEmpty { keyspaces.removeAll() }
        if !defaultOwners.isEmpty { defaultOwners.removeAll() }
        count = 0
        invertedRange = nil
        hasMerge = false
        largestKeyBytes = 0
        largestValueBytes = 0
    }

    /// This batch (its keyspaces and handles) with `other`'s operations
    /// instead of its own: TTL write times (TTL/TTLWrites.swift).
    func withOperations(of other: WriteBatch) -> WriteBatch {
        var out = self
        out.rep = other.rep
        out.count = other.count
        out.largestKeyBytes = other.largestKeyBytes
        out.largestValueBytes = other.largestValueBytes
        return out
    }

    /// Encoded size in bytes (what the WAL will carry).
    public var approximateSizeBytes: Int { rep.count }

    /// Whether the batch holds no operation.
    public var isEmpty: Bool { count == 0 }

    private mutating func appendLengthPrefixed(_ bytes: UnsafeRawBufferPointer) {
        var v = UInt64(bytes.count)
        while v >= 0x80 {
            rep.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        rep.append(UInt8(v))
        rep.append(contentsOf: bytes)
    }

    /// Appends `other`'s operations after this batch's, as one atomic
    /// batch (the async write queue merges the writes waiting for it).
    mutating func append(contentsOf other: WriteBatch) {
        rep.append(contentsOf: other.rep[WriteBatch.headerSize...])
        for keyspace in other.keyspaces where !keyspaces.contains(where: { $0 === keyspace }) {
            keyspaces.append(keyspace)
        }
        for owner in other.defaultOwners where !defaultOwners.contains(owner) { defaultOwners.append(owner) }
        largestKeyBytes = max(largestKeyBytes, other.largestKeyBytes)
        largestValueBytes = max(largestValueBytes, other.largestValueBytes)
        count += other.count
        if invertedRange == nil { invertedRange = other.invertedRange }
        hasMerge = hasMerge || other.hasMerge
    }

    /// Checks the encoded size and the largest key and value against the
    /// limits in `Options`, and the ranges of `deleteRange`.
    func validate() throws(DBError) {
        try validate(valueSlackBytes: 0, maxBatchSizeBytes: Options.maxBatchSizeBytes)
    }

    /// `validate` with room for what the engine adds to what it stores: a
    /// replica's apply (DB+Replica.swift) takes a primary's stored values,
    /// which in a TTL keyspace carry 8 bytes of write time past the value
    /// limit, in batches with those 8 bytes per put.
    func validate(valueSlackBytes: Int, maxBatchSizeBytes: Int) throws(DBError) {
        if rep.count > maxBatchSizeBytes { throw DBError.tooLarge(.batch, sizeBytes: rep.count) }
        if largestKeyBytes > Options.maxKeySizeBytes { throw DBError.tooLarge(.key, sizeBytes: largestKeyBytes) }
        if largestValueBytes > Options.maxValueSizeBytes + valueSlackBytes {
            throw DBError.tooLarge(.value, sizeBytes: largestValueBytes)
        }
        if let (from, to) = invertedRange { throw DBError.invalidRange(from: from, to: to) }
    }

    /// Checks one put or delete against the same limits as `validate`,
    /// without building a batch.
    static func validateSingle(keyBytes: Int, valueBytes: Int) throws(DBError) {
        if keyBytes > Options.maxKeySizeBytes { throw DBError.tooLarge(.key, sizeBytes: keyBytes) }
        if valueBytes > Options.maxValueSizeBytes { throw DBError.tooLarge(.value, sizeBytes: valueBytes) }
    }

    /// The encoded batch with `sequence` and the count filled in.
    func encoded(sequence: SequenceNumber) -> [UInt8] {
        var out = rep
        WriteBatch.setHeader(&out, sequence: sequence, count: count)
        return out
    }

    static func setHeader(_ rep: inout [UInt8], sequence: SequenceNumber, count: Int) {
        withUnsafeBytes(of: sequence.littleEndian) { for i in 0..<8 { rep[i] = $0[i] } }
        withUnsafeBytes(of: UInt32(count).littleEndian) { for i in 0..<4 { rep[8 + i] = $0[i] } }
    }

    /// Reads the header of an encoded batch.
    package static func header(_ rep: UnsafeRawBufferPointer) throws(DecodeError) -> (sequence: SequenceNumber, count: Int) {
        var reader = ByteReader(rep)
        let sequence = try reader.readFixed64()
        let count = Int(try reader.readFixed32())
        return (sequence, count)
    }

    /// Walks the operations of an encoded batch (from disk: fully checked):
    /// keyspace id (0: default), type, key, value.
    package static func forEach(
        _ rep: UnsafeRawBufferPointer,
        _ body: (UInt32, ValueType, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) throws(DecodeError) {
        var reader = ByteReader(rep, position: headerSize)
        let declared = try header(rep).count
        var seen = 0
        while !reader.isAtEnd {
            let tag = try reader.readByte()
            var keyspace: UInt32 = 0
            let type: ValueType
            switch tag {
            case 0, 1, 2, 3:
                type = ValueType(rawValue: tag) ?? .value
            case 4, 5, 6, 7:
                type = tag == 4 ? .value : tag == 5 ? .deletion : tag == 6 ? .rangeDeletion : .merge
                let at = reader.position
                let id = try reader.readVarint64()
                guard id <= UInt64(UInt32.max) else {
                    throw DecodeError(reason: "keyspace id \(id) exceeds 32 bits", offset: at)
                }
                guard id != 0 else {
                    throw DecodeError(reason: "operation type \(tag) names keyspace 0 (which uses types 0–3)", offset: at)
                }
                keyspace = UInt32(id)
            default:
                throw DecodeError(reason: "unknown write batch operation \(tag)", offset: reader.position - 1)
            }
            let key = try reader.readLengthPrefixed()
            let value = type != .deletion ? try reader.readLengthPrefixed() : UnsafeRawBufferPointer(start: nil, count: 0)
            body(keyspace, type, key, value)
            seen += 1
        }
        guard seen == declared else {
            throw DecodeError(reason: "write batch declares \(declared) operations, holds \(seen)", offset: 8)
        }
    }
}
