/// One read of a batch: `length` bytes at `offset` of `fd` into `buffer`.
/// After `readBatch`, `bytesRead` holds how many arrived (less than `length`
/// only at end of file) or `error` says why the read failed.
public struct ReadRequest {
    public var fd: Int32
    public var offset: UInt64
    public var length: Int
    public var buffer: UnsafeMutableRawPointer
    public var bytesRead = 0
    public var error: IOError?

    public init(fd: Int32, offset: UInt64, length: Int, buffer: UnsafeMutableRawPointer) {
        self.fd = fd
        self.offset = offset
        self.length = length
        self.buffer = buffer
    }
}

/// One write of a batch: all of `buffer` at `offset` of `fd`.
public struct WriteRequest {
    public var fd: Int32
    public var offset: UInt64
    public var buffer: UnsafeRawBufferPointer

    public init(fd: Int32, offset: UInt64, buffer: UnsafeRawBufferPointer) {
        self.fd = fd
        self.offset = offset
        self.buffer = buffer
    }
}

/// The small protocol every engine file access goes through. `URingBackend`
/// is the real one; `PosixBackend` serves where io_uring is unavailable and
/// cross-checks results in tests. All methods are safe from many threads.
///
/// Short transfers are always completed by resubmitting the remainder; a
/// read stops short only at end of file.
public protocol IOBackend: AnyObject, Sendable {
    /// "io_uring" or "posix".
    var name: String { get }
    /// Whether this backend's I/O goes through io_uring (then the engine's
    /// WAL may take a ring of its own too).
    var usesIOUring: Bool { get }
    /// Reads until `buffer` is full or end of file; returns the bytes read.
    func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(IOError) -> Int
    /// `read` for one request a caller waits on alone (a point lookup's
    /// block); `direct` says the descriptor is O_DIRECT. A backend may pick
    /// the cheaper syscall for that case (see URingBackend). Defaults to `read`.
    func readAlone(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64,
                   direct: Bool) throws(IOError) -> Int
    /// Writes all of `buffer` at `offset`.
    func write(fd: Int32, from buffer: UnsafeRawBufferPointer, offset: UInt64) throws(IOError)
    /// `writeBatch` for a caller that needs nothing in flight: `direct`
    /// says the descriptor is O_DIRECT. A backend may pick the cheaper
    /// syscall (see URingBackend). Defaults to `writeBatch`.
    func writeBatchAlone(_ requests: [WriteRequest], direct: Bool) throws(IOError)
    /// Keeps up to the ring size of writes in flight; throws the first error
    /// after every write has completed or failed.
    func writeBatch(_ requests: [WriteRequest]) throws(IOError)
    /// Submits all reads at once (as few submissions as the ring size
    /// allows) and returns when every one completed; per-request results are
    /// stored in the requests. Never throws for a single failed read.
    func readBatch(_ requests: inout [ReadRequest]) throws(IOError)
    /// Starts the reads and returns without waiting for them; the handle's
    /// `wait()` harvests them (results as `readBatch` stores them). Every
    /// request must point into `buffer`, which the handle keeps alive until
    /// the kernel is done with it — also when the handle is dropped
    /// unharvested (it drains in deinit). Backends without asynchronous
    /// reads (POSIX) read at submission and return a completed handle.
    func submitReads(_ requests: [ReadRequest], buffer: SharedAlignedBuffer) throws(IOError) -> PendingReads
    /// fsync, or fdatasync when `dataOnly`.
    func sync(fd: Int32, dataOnly: Bool) throws(IOError)
    /// Reserves blocks for [offset, offset+length) (fallocate mode 0).
    func preallocate(fd: Int32, offset: UInt64, length: UInt64) throws(IOError)
    /// Opens (with `.create`, creates) a file. The engine opens and
    /// renames through its backend so a wrapping backend (`IOSeam`) can
    /// fail these calls and note what was created; the real backends use
    /// the default implementations below.
    func openFile(_ path: String, _ mode: File.Mode, direct: File.DirectIO) throws(IOError) -> File
    /// Atomically replaces `to` with `from`.
    func rename(_ from: String, to: String) throws(IOError)
    /// fsync of a directory, making creates, renames and removals in it
    /// durable.
    func syncDirectory(_ path: String) throws(IOError)
    /// Removes a file (unlink). Through the backend so crash simulation can
    /// undo a removal whose directory was not synced.
    func removeFile(_ path: String) throws(IOError)
    /// Creates a directory (and missing parents). Through the backend so
    /// crash simulation can undo a creation whose parent was not synced.
    func createDirectory(_ path: String) throws(IOError)
    /// Creates a directory that must not exist yet, in an existing parent:
    /// EEXIST when anything has the name (one mkdir(2), so of two callers
    /// exactly one creates it). Through the backend as `createDirectory`.
    func createNewDirectory(_ path: String) throws(IOError)
}

extension IOBackend {
    public var usesIOUring: Bool { false }

    public func openFile(_ path: String, _ mode: File.Mode, direct: File.DirectIO) throws(IOError) -> File {
        try File.open(path, mode, direct: direct)
    }

    public func rename(_ from: String, to: String) throws(IOError) {
        try FileSystem.rename(from, to: to)
    }

    public func syncDirectory(_ path: String) throws(IOError) {
        try FileSystem.syncDirectory(path)
    }

    public func removeFile(_ path: String) throws(IOError) {
        try FileSystem.remove(path)
    }

    public func createDirectory(_ path: String) throws(IOError) {
        try FileSystem.createDirectory(path)
    }

    public func createNewDirectory(_ path: String) throws(IOError) {
        try FileSystem.createNewDirectory(path)
    }
}

extension IOBackend {
    public func readAlone(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64,
                          direct: Bool) throws(IOError) -> Int {
        try read(fd: fd, into: buffer, offset: offset)
    }

    public func writeBatchAlone(_ requests: [WriteRequest], direct: Bool) throws(IOError) {
        try writeBatch(requests)
    }
}

extension IOBackend {
    /// The synchronous fallback: `readBatch` now, a completed handle.
    public func submitReads(_ requests: [ReadRequest], buffer: SharedAlignedBuffer) throws(IOError) -> PendingReads {
        var requests = requests
        try readBatch(&requests)
        return PendingReads(completed: requests, buffer: buffer)
    }
}

public enum IOBackends {
    /// io_uring when the kernel allows it; otherwise the POSIX backend, with
    /// a notice saying why (ENOSYS: no support; EPERM: refused by seccomp —
    /// Docker's default profile — or by `kernel.io_uring_disabled`).
    public static func makeDefault(notice: (String) -> Void = { noticeOnce($0) }) -> any IOBackend {
        makeDefault(notice: notice, slot: IOHookSlot())
    }

    /// The engine's backend: the POSIX one when `posixOnly`, else
    /// `makeDefault`'s choice; handed to `seam` (a test's, nil in
    /// production) to wrap. The seam's hooks reach every ring the backend
    /// creates in debug builds, so a test can refuse io_uring here as a
    /// container would.
    package static func make(posixOnly: Bool, readPollMicros: Int = 0, notice: (String) -> Void,
                             seam: (any IOSeam)?) -> any IOBackend {
        #if DEBUG
        let slot = IOHookSlot(seam?.hooks(label: nil))
        #else
        let slot = IOHookSlot()
        #endif
        let base = posixOnly ? PosixBackend(slot: slot)
            : makeDefault(notice: notice, readPollMicros: readPollMicros, slot: slot)
        return seam?.wrap(base) ?? base
    }

    #if DEBUG
    /// `makeDefault` whose rings and transfers ask `hooks` (debug builds
    /// only; see `IOSeam`).
    package static func makeDefault(notice: (String) -> Void, hooks: (any IOHooks)?) -> any IOBackend {
        makeDefault(notice: notice, slot: IOHookSlot(hooks))
    }
    #endif

    private static func makeDefault(notice: (String) -> Void, readPollMicros: Int = 0,
                                    slot: IOHookSlot) -> any IOBackend {
        do {
            return try URingBackend(ringEntries: 256, readPollMicros: readPollMicros, slot: slot)
        } catch {
            notice(fallbackNotice(error))
            return PosixBackend(slot: slot)
        }
    }

    /// The one line a user sees when io_uring is refused.
    public static func fallbackNotice(_ error: IOError) -> String {
        "RingIO: io_uring unavailable (\(error.operation) failed: \(error.message), errno \(error.errno)); "
            + "using plain syscalls (pread/pwrite/fdatasync) for every path"
    }

    private static let noticed = Locked(false)

    /// Prints `message` on stderr the first time it is called in this
    /// process, and never again: a process that opens several databases
    /// (or whose WAL meets the same refusal) sees one notice.
    public static func noticeOnce(_ message: String) {
        let first = noticed.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first { printNotice(message) }
    }

    /// Runs one `ReadRequest` through `backend.readAlone`, storing its
    /// result as `readBatch` would (a failed read is stored, not thrown).
    public static func readAlone(_ request: inout ReadRequest, backend: any IOBackend, direct: Bool) throws(IOError) {
        do {
            request.bytesRead = try backend.readAlone(
                fd: request.fd, into: UnsafeMutableRawBufferPointer(start: request.buffer, count: request.length),
                offset: request.offset, direct: direct)
        } catch {
            request.error = error
        }
    }

    public static func printNotice(_ message: String) {
        var line = message + "\n"
        line.withUTF8 { _ = writeStandardError($0) }
    }
}
