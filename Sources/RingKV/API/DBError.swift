import RingIO

/// The one error type of the RingKV API. Each case says what failed and
/// where: the file, the offset, the errno. Nothing from disk or from a
/// caller crashes the process; it arrives here instead.
public enum DBError: Error, Sendable, CustomStringConvertible {
    /// A system call or io_uring operation failed (file, offset, errno inside).
    case io(IOError)
    /// Stored data failed a checksum or does not parse.
    case corruption(path: String, offset: UInt64, reason: String)
    /// The caller passed something the engine does not accept (too-large
    /// key or value, bad option).
    case invalidArgument(String)
    /// The database directory does not exist and `createIfMissing` is false.
    case notFound(path: String)
    /// The database exists and `errorIfExists` is true.
    case alreadyExists(path: String)
    /// Another process (or another open `DB`) holds the LOCK file.
    case locked(path: String)
    /// The `DB` was closed.
    case closed
    /// The database refuses writes: it was opened with `Options.readOnly`,
    /// or a write or fsync of the log failed earlier (then until it is
    /// reopened). Reads keep working. `reason` says which.
    case readOnly(reason: String)

    /// A one-line message naming what failed, where and why.
    public var description: String {
        switch self {
        case .io(let e): return e.description
        case .corruption(let path, let offset, let reason): return "corruption in \(path) at offset \(offset): \(reason)"
        case .invalidArgument(let s): return "invalid argument: \(s)"
        case .notFound(let path): return "database not found: \(path) (set createIfMissing to create it)"
        case .alreadyExists(let path): return "database already exists: \(path)"
        case .locked(let path): return "database is locked: \(path) is held by another process or DB handle"
        case .closed: return "database is closed"
        case .readOnly(let reason): return "database is read-only: \(reason)"
        }
    }

    /// True when the failure was a full disk or quota.
    public var isNoSpace: Bool {
        if case .io(let e) = self { return e.isNoSpace }
        return false
    }
}
