#if canImport(Glibc)
import Glibc
#endif

/// pread/pwrite/fdatasync, one call at a time. Used where io_uring is
/// unavailable, and by tests to cross-check the io_uring backend.
/// `submitReads` (the protocol's default) reads synchronously at submission
/// and returns a completed handle: prefetching then saves nothing, but
/// callers run the same code on both backends.
public final class PosixBackend: IOBackend {
    public let name = "posix"
    /// A test's hooks (debug builds only; see `IOSeam`).
    let slot: IOHookSlot

    public init() { slot = IOHookSlot() }

    #if DEBUG
    /// A backend whose reads and writes ask `hooks` how much of each
    /// transfer to count (debug builds only; see `IOSeam`).
    package init(hooks: (any IOHooks)?) { slot = IOHookSlot(hooks) }
    #endif

    init(slot: IOHookSlot) { self.slot = slot }

    public func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(IOError) -> Int {
        try PosixBackend.preadFully(fd: fd, into: buffer, offset: offset, slot: slot)
    }

    /// pread until `buffer` is full or end of file (short reads resumed).
    static func preadFully(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64,
                           slot: IOHookSlot) throws(IOError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let at = offset + UInt64(done)
            let n = try syscall("pread", offset: at) { pread(fd, base + done, buffer.count - done, off_t(at)) }
            if n == 0 { break }
            done += slot.transferred(isWrite: false, fd: fd, moved: n)
        }
        return done
    }

    public func write(fd: Int32, from buffer: UnsafeRawBufferPointer, offset: UInt64) throws(IOError) {
        try PosixBackend.pwriteFully(fd: fd, from: buffer, offset: offset, slot: slot)
    }

    /// pwrite all of `buffer` (short writes resumed).
    static func pwriteFully(fd: Int32, from buffer: UnsafeRawBufferPointer, offset: UInt64,
                            slot: IOHookSlot) throws(IOError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let at = offset + UInt64(done)
            let n = try syscall("pwrite", offset: at) { pwrite(fd, base + done, buffer.count - done, off_t(at)) }
            if n == 0 {
                throw IOError(operation: "pwrite", errno: EIO, offset: at, detail: "kernel accepted zero bytes")
            }
            done += slot.transferred(isWrite: true, fd: fd, moved: n)
        }
    }

    public func writeBatch(_ requests: [WriteRequest]) throws(IOError) {
        for r in requests { try write(fd: r.fd, from: r.buffer, offset: r.offset) }
    }

    public func readBatch(_ requests: inout [ReadRequest]) throws(IOError) {
        for i in requests.indices {
            let r = requests[i]
            do {
                requests[i].bytesRead = try read(
                    fd: r.fd, into: UnsafeMutableRawBufferPointer(start: r.buffer, count: r.length), offset: r.offset)
            } catch {
                requests[i].error = error
            }
        }
    }

    public func sync(fd: Int32, dataOnly: Bool) throws(IOError) {
        _ = try syscall(dataOnly ? "fdatasync" : "fsync") { dataOnly ? fdatasync(fd) : fsync(fd) }
    }

    public func preallocate(fd: Int32, offset: UInt64, length: UInt64) throws(IOError) {
        // posix_fallocate returns the error number instead of setting errno.
        let rc = posix_fallocate(fd, off_t(offset), off_t(length))
        if rc != 0 { throw IOError(operation: "posix_fallocate", errno: rc, offset: offset) }
    }
}
