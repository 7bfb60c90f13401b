#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a key or a value may be given as: `[UInt8]`, `ArraySlice<UInt8>`,
/// `ContiguousArray<UInt8>`, `Data`, `String` and `Substring` (their UTF-8
/// bytes), `UnsafeRawBufferPointer` and `UnsafeBufferPointer<UInt8>` —
/// mixed freely in one call:
///
///     try db.put("user:1", jsonBytes)
///     try db.put(Data(key), Data(value))
///     let v: [UInt8]? = try db.get(line.dropFirst(5))   // a Substring
///
/// The bytes are lent where they lie (no copy for contiguous storage: an
/// array, `Data`, a native string); the engine copies them once, into the
/// WAL buffer and the memtable. Results are `[UInt8]` (`get(_:)` with a
/// `String` key returns a `String`).
///
/// The `[UInt8]` overloads of `DB` and `WriteBatch` are the contract and
/// take the same path; a type of your own conforms by lending its bytes.
public protocol KeyValueBytes {
    /// Calls `body` with the bytes, valid only during the call, and returns
    /// what it returns (or throws what it throws).
    func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R
}

// `withUnsafeBytes` and `withContiguousStorageIfAvailable` are `rethrows`:
// each conformance runs `body` inside a non-throwing closure and hands its
// outcome back as a `Result`, so the caller's error type is kept.

extension Array: KeyValueBytes where Element == UInt8 {
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
    }
}

extension ArraySlice: KeyValueBytes where Element == UInt8 {
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
    }
}

extension ContiguousArray: KeyValueBytes where Element == UInt8 {
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
    }
}

extension Data: KeyValueBytes {
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
    }
}

extension String: KeyValueBytes {
    /// The UTF-8 bytes, in place for a native string (small ones are
    /// lent from the stack); copied once for one that is not contiguous.
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUTF8Bytes(body)
    }
}

extension Substring: KeyValueBytes {
    /// The UTF-8 bytes of the slice, in place when its string is native.
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUTF8Bytes(body)
    }
}

extension StringProtocol {
    @usableFromInline
    func withUTF8Bytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let lent = utf8.withContiguousStorageIfAvailable { bytes in
            Result { () throws(E) in try body(UnsafeRawBufferPointer(bytes)) }
        }
        if let lent { return try lent.get() }
        return try Array(utf8).withKeyValueBytes(body)
    }
}

extension UnsafeRawBufferPointer: KeyValueBytes {
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(self)
    }
}

extension UnsafeBufferPointer: KeyValueBytes where Element == UInt8 {
    @inlinable
    public func withKeyValueBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(self))
    }
}
