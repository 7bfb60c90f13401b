#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// An open file descriptor with its path. The descriptor is closed exactly
/// once: by `close()` (idempotent) or in `deinit`.
public final class File: Sendable {
    /// How to treat O_DIRECT at open.
    public enum DirectIO: Sendable {
        /// Buffered I/O through the page cache.
        case off
        /// O_DIRECT or an error saying the filesystem refuses it.
        case required
        /// O_DIRECT when the filesystem allows it, buffered otherwise.
        case preferred
    }

    public struct Mode: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let read = Mode(rawValue: 1 << 0)
        public static let write = Mode(rawValue: 1 << 1)
        public static let create = Mode(rawValue: 1 << 2)
        public static let truncate = Mode(rawValue: 1 << 3)
        /// Fails with EEXIST when the file exists.
        public static let exclusive = Mode(rawValue: 1 << 4)
        public static let readWrite: Mode = [.read, .write]
    }

    public let path: String
    public let fd: Int32
    /// Whether the descriptor was opened with O_DIRECT (offsets, lengths
    /// and buffers must then be aligned: `directReadAlignment`, and 4096
    /// for memory and for the engine's writes).
    public let isDirect: Bool
    /// The offset and length alignment of an O_DIRECT read: what the kernel
    /// reports for the file (statx STATX_DIOALIGN, Linux 6.1: usually the
    /// device's logical block size, 512 bytes), kept when it is a power of
    /// two from 512 to 4096, else 4096 (a page). Why: a 4,126-byte block
    /// read at 512-byte granularity is 4.5 or 5 KiB, not two pages —
    /// RocksDB likewise aligns direct reads to the logical sector size.
    /// 1 for a buffered file.
    public let directReadAlignment: Int
    /// Set once by close(); guards against a second close of the descriptor.
    private let closed = Locked(false)

    public static func open(_ path: String, _ mode: Mode, direct: DirectIO = .off,
                            permissions: mode_t = 0o644) throws(IOError) -> File {
        var flags: Int32 = O_CLOEXEC
        switch (mode.contains(.read), mode.contains(.write)) {
        case (_, false): flags |= O_RDONLY
        case (false, true): flags |= O_WRONLY
        case (true, true): flags |= O_RDWR
        }
        if mode.contains(.create) { flags |= O_CREAT }
        if mode.contains(.truncate) { flags |= O_TRUNC }
        if mode.contains(.exclusive) { flags |= O_EXCL }
        if direct != .off {
            do {
                let fd = try syscall("open", path: path) { Glibc.open(path, flags | RK_O_DIRECT, permissions) }
                return File(path: path, fd: fd, isDirect: true)
            } catch where error.errno == EINVAL {
                if direct == .required {
                    throw IOError(operation: "open", errno: EINVAL, path: path,
                                  detail: "the filesystem refuses O_DIRECT (tmpfs?)")
                }
            }
        }
        let fd = try syscall("open", path: path) { Glibc.open(path, flags, permissions) }
        return File(path: path, fd: fd, isDirect: false)
    }

    private init(path: String, fd: Int32, isDirect: Bool) {
        self.path = path
        self.fd = fd
        self.isDirect = isDirect
        directReadAlignment = isDirect ? File.directReadAlignment(fd: fd) : 1
    }

    /// The span a read of [offset, offset + length) covers: rounded out to
    /// `directReadAlignment` for an O_DIRECT file, exactly the range for a
    /// buffered one (alignment 1).
    @inline(__always)
    public func readSpan(offset: UInt64, length: Int) -> (start: UInt64, end: UInt64) {
        let unit = UInt64(directReadAlignment)
        return (offset & ~(unit - 1), (offset + UInt64(length) + unit - 1) & ~(unit - 1))
    }

    /// See `directReadAlignment`.
    private static func directReadAlignment(fd: Int32) -> Int {
        let reported = rk_dio_offset_align(fd)
        guard reported >= 512 && reported <= Int64(AlignedBuffer.alignment) && reported & (reported - 1) == 0 else {
            return AlignedBuffer.alignment
        }
        return Int(reported)
    }

    deinit { try? close() }

    /// Closes the descriptor; later calls do nothing.
    public func close() throws(IOError) {
        let wasClosed = closed.withLock { c in
            defer { c = true }
            return c
        }
        if wasClosed { return }
        // close(2) must not be retried on EINTR on Linux: the fd is gone.
        if Glibc.close(fd) != 0 && rk_errno() != EINTR {
            throw IOError(operation: "close", errno: rk_errno(), path: path)
        }
    }

    /// The file's size in bytes.
    public func size() throws(IOError) -> UInt64 {
        var st = stat()
        _ = try syscall("fstat", path: path) { fstat(fd, &st) }
        return UInt64(st.st_size)
    }

    /// How the page cache should treat a range of the file
    /// (posix_fadvise(2)); a hint, which changes no data.
    public enum AccessAdvice: Sendable {
        /// The kernel's default read-ahead.
        case normal
        /// Point reads at random offsets: no read-ahead around them
        /// (per open file description: affects every read of this `File`).
        case random
        /// Long sequential reads: a larger read-ahead window.
        case sequential
        /// Start reading the range into the page cache now (returns once
        /// the reads are submitted, not when they complete).
        case willNeed
        /// Drop the range's clean cached pages (dirty ones are queued for
        /// writeback first and stay until written).
        case dontNeed

        var code: Int32 {
            switch self {
            case .normal: POSIX_FADV_NORMAL
            case .random: POSIX_FADV_RANDOM
            case .sequential: POSIX_FADV_SEQUENTIAL
            case .willNeed: POSIX_FADV_WILLNEED
            case .dontNeed: POSIX_FADV_DONTNEED
            }
        }
    }

    /// Tells the kernel how [offset, offset + length) will be read
    /// (length 0: to the end of the file). posix_fadvise returns its error
    /// instead of setting errno; EINTR cannot occur.
    public func advise(_ advice: AccessAdvice, offset: UInt64 = 0, length: UInt64 = 0) throws(IOError) {
        let code = posix_fadvise(fd, off_t(offset), off_t(length), advice.code)
        if code != 0 { throw IOError(operation: "posix_fadvise", errno: code, path: path, offset: offset) }
    }

    /// Starts writing [offset, offset + length) of the page cache to the
    /// device and returns without waiting (sync_file_range with
    /// SYNC_FILE_RANGE_WRITE). Not a durability point: no metadata, no
    /// device cache flush — a later fsync still makes the data durable,
    /// only with less left to write. Pointless for O_DIRECT files.
    public func startWriteback(offset: UInt64, length: UInt64) throws(IOError) {
        let rc = rk_start_writeback(fd, Int64(offset), Int64(length))
        if rc != 0 { throw IOError(operation: "sync_file_range", errno: -rc, path: path, offset: offset) }
    }

    /// Pages of a range in the page cache (cachestat(2), Linux 6.5+).
    public struct PageCacheState: Sendable, Equatable {
        public var cachedPages: UInt64
        public var dirtyPages: UInt64
        public var writebackPages: UInt64
    }

    /// The page cache's view of [offset, offset + length) (length 0: to
    /// the end); throws ENOSYS on kernels without cachestat.
    public func pageCacheState(offset: UInt64 = 0, length: UInt64 = 0) throws(IOError) -> PageCacheState {
        var out = rk_cachestat()
        let rc = rk_cachestat_range(fd, offset, length, &out)
        if rc != 0 { throw IOError(operation: "cachestat", errno: -rc, path: path, offset: offset) }
        return PageCacheState(cachedPages: out.cache, dirtyPages: out.dirty, writebackPages: out.writeback)
    }

    /// Cuts or extends the file to `length` bytes.
    public func truncate(to length: UInt64) throws(IOError) {
        _ = try syscall("ftruncate", path: path, offset: length) { ftruncate(fd, off_t(length)) }
    }
}
