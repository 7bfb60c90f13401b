/// The standard library's byte accessors are `rethrows`: a call whose
/// closure throws `DBError` throws `any Error` to its caller, which the
/// typed (`throws(DBError)`) write, flush and compaction paths cannot
/// take. These forms keep the closure's error type; the closure runs
/// inside a non-throwing one and its outcome comes back as a `Result`.
extension Array where Element == UInt8 {
    @inline(__always)
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
    }
}

/// `withUnsafeTemporaryAllocation(byteCount:alignment:_:)` keeping the
/// closure's error type.
@inline(__always)
func withTemporaryBytes<R, E: Error>(byteCount: Int, alignment: Int,
                                     _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: alignment) { buffer in
        Result { () throws(E) in try body(buffer) }
    }.get()
}

/// `withUnsafeBytes(of:_:)` keeping the closure's error type.
@inline(__always)
func withBytes<T, R, E: Error>(of value: T, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try withUnsafeBytes(of: value) { raw in Result { () throws(E) in try body(raw) } }.get()
}
