#if canImport(Glibc)
import Glibc
#endif

/// A failed I/O operation: what was attempted, on which file, at which
/// offset, and the errno the kernel returned. Every RingIO failure is one.
public struct IOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation that failed, e.g. "open", "io_uring read", "fsync".
    public var operation: String
    /// The positive errno value.
    public var errno: Int32
    /// The file's path when known.
    public var path: String?
    /// The file offset when the operation has one.
    public var offset: UInt64?
    /// Extra words for the reader, e.g. "filesystem refuses O_DIRECT".
    public var detail: String?
    /// Set when the ring failed with some of this call's operations still
    /// in the kernel's hands: the memory they read from or write into may
    /// still be used, so the caller must never free or reuse it (hand it to
    /// `Quarantine`). The ring itself is already quarantined.
    public var memoryMayStillBeInUse = false

    public init(operation: String, errno: Int32, path: String? = nil, offset: UInt64? = nil, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.path = path
        self.offset = offset
        self.detail = detail
    }

    /// The errno rendered by strerror.
    public var message: String { String(cString: strerror(errno)) }

    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }

    public var description: String {
        var s = "\(operation) failed"
        if let path { s += " on \(path)" }
        if let offset { s += " at offset \(offset)" }
        s += ": \(message) (errno \(errno))"
        if let detail { s += " — \(detail)" }
        return s
    }

    /// The same error with the path filled in when it was not known below.
    public func at(path: String) -> IOError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }
}
