/// The user-key range an iterator may yield: [lower, upper), either end
/// open when nil (`ReadOptions.lowerBound` / `upperBound`).
///
/// Table and level iterators use it to stop *before* reading what lies
/// outside: a data block whose index separator proves all its keys are out
/// of range is never fetched, and a level's table wholly outside is never
/// opened. The DB iterator checks every key it yields against it too, so
/// the internal iterators' checks only save I/O and never decide results.
struct IterationBounds: Sendable {
    var lower: [UInt8]?
    var upper: [UInt8]?
    /// Set when every key in [lower, upper) starts with these bytes, as
    /// long as the keyspace's prefix length (`withFilterPrefix`): a table
    /// whose prefix filter rules them out is not read at all.
    var filterPrefix: [UInt8]?

    static let unbounded = IterationBounds(lower: nil, upper: nil)

    /// `userKey` >= upper: at or past the exclusive upper bound.
    @inline(__always)
    func isAtOrPastUpper(_ userKey: UnsafeRawBufferPointer) -> Bool {
        guard let upper else { return false }
        return upper.withUnsafeBytes { compareBytes(userKey, $0) >= 0 }
    }

    /// `userKey` < lower: before the inclusive lower bound.
    @inline(__always)
    func isBeforeLower(_ userKey: UnsafeRawBufferPointer) -> Bool {
        guard let lower else { return false }
        return lower.withUnsafeBytes { compareBytes(userKey, $0) < 0 }
    }

    /// True when every key of `file` lies outside the range.
    func excludes(_ file: FileMetaData) -> Bool {
        file.smallestUserKey.withUnsafeBytes { isAtOrPastUpper($0) }
            || file.largestUserKey.withUnsafeBytes { isBeforeLower($0) }
    }

    /// These bounds with `filterPrefix` set when every key in them starts
    /// with the first `length` bytes of `lower`: `lower` is at least that
    /// long and `upper` is at or below `ReadOptions.prefixEnd` of those
    /// bytes (any upper bound, or none, when they are all 0xFF).
    func withFilterPrefix(length: Int?) -> IterationBounds {
        var bounds = self
        bounds.filterPrefix = nil
        guard let length, length > 0, let lower, lower.count >= length else { return bounds }
        let prefix = Array(lower[..<length])
        if let end = ReadOptions.prefixEnd(prefix) {
            guard let upper, compareBytes(upper, end) <= 0 else { return bounds }
        }
        bounds.filterPrefix = prefix
        return bounds
    }
}
