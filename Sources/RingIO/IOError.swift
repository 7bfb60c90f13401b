#if canImport(Glibc)
import Glibc
#endif

/// A failed I/O operation: what was attempted, on which file, at which
/// offset, through which kernel interface, and the errno the kernel
/// returned. Every RingIO failure is one.
public struct IOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation that failed, e.g. "open", "io_uring read", "fsync".
    public var operation: String
    /// The errno, as a type to match on (`.noSpace`, `.permissionDenied` …).
    public var code: Errno
    /// The positive errno value (`code.rawValue`).
    public var errno: Int32 { code.rawValue }
    /// Whether the operation went through io_uring or a plain system call.
    public var ioPath: IOPath
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

    /// `ioPath` is `.ioUring` for the operations RingIO names "io_uring…"
    /// (io_uring_setup, io_uring_enter, "io_uring read", …) and `.posix`
    /// for every other.
    public init(operation: String, errno: Int32, path: String? = nil, offset: UInt64? = nil, detail: String? = nil) {
        self.operation = operation
        self.code = Errno(rawValue: errno)
        self.ioPath = operation.hasPrefix("io_uring") ? .ioUring : .posix
        self.path = path
        self.offset = offset
        self.detail = detail
    }

    /// The errno rendered by strerror.
    public var message: String { code.message }

    /// A full disk or an exhausted quota.
    public var isNoSpace: Bool { code == .noSpace || code == .diskQuotaExceeded }

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

/// An errno value, with names for the ones callers act on (the shape of
/// swift-system's `Errno`): `error.code == .noSpace`. Any other value is
/// kept as it came (`rawValue`).
public struct Errno: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// EPERM: the operation is not permitted (also io_uring_setup under a
    /// seccomp filter or `kernel.io_uring_disabled`).
    public static let notPermitted = Errno(rawValue: EPERM)
    /// ENOENT: no such file or directory.
    public static let noSuchFile = Errno(rawValue: ENOENT)
    /// EINTR: interrupted by a signal.
    public static let interrupted = Errno(rawValue: EINTR)
    /// EIO: the device reported an I/O error.
    public static let ioError = Errno(rawValue: EIO)
    /// ENXIO: no such device or address.
    public static let noSuchDevice = Errno(rawValue: ENXIO)
    /// EBADF: a bad file descriptor.
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// EAGAIN / EWOULDBLOCK: try again (a held lock, for a non-blocking flock).
    public static let wouldBlock = Errno(rawValue: EWOULDBLOCK)
    /// ENOMEM: out of memory (also io_uring's locked-memory limit).
    public static let noMemory = Errno(rawValue: ENOMEM)
    /// EACCES: permission denied by the file's mode or a security module.
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// EEXIST: the file exists.
    public static let fileExists = Errno(rawValue: EEXIST)
    /// EXDEV: a link or rename across filesystems.
    public static let crossDevice = Errno(rawValue: EXDEV)
    /// ENOTDIR: a path component is not a directory.
    public static let notADirectory = Errno(rawValue: ENOTDIR)
    /// EISDIR: the path is a directory.
    public static let isADirectory = Errno(rawValue: EISDIR)
    /// EINVAL: an invalid argument (also O_DIRECT refused by a filesystem).
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// EMFILE: the process is out of file descriptors.
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    /// EFBIG: the file would exceed the size limit.
    public static let fileTooLarge = Errno(rawValue: EFBIG)
    /// ENOSPC: no space left on the device.
    public static let noSpace = Errno(rawValue: ENOSPC)
    /// EROFS: the filesystem is read-only.
    public static let readOnlyFileSystem = Errno(rawValue: EROFS)
    /// EOPNOTSUPP: the operation is not supported (e.g. fallocate).
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    /// ECANCELED: the operation was canceled (a broken io_uring link).
    public static let canceled = Errno(rawValue: ECANCELED)
    /// EDQUOT: the disk quota is exhausted.
    public static let diskQuotaExceeded = Errno(rawValue: EDQUOT)

    /// The errno rendered by strerror.
    public var message: String { String(cString: strerror(rawValue)) }

    /// "No space left on device (errno 28)".
    public var description: String { "\(message) (errno \(rawValue))" }
}

/// Which kernel interface carries I/O: io_uring, or plain system calls
/// (pread/pwrite/fdatasync), where io_uring is refused or turned off.
public enum IOPath: String, Sendable, Hashable, CustomStringConvertible {
    case ioUring = "io_uring"
    case posix = "posix"

    /// "io_uring" or "posix".
    public var description: String { rawValue }
}
