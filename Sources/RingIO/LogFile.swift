#if canImport(Glibc)
import Glibc
#endif

/// A write-ahead log's file and the I/O its writer does (the engine's WAL
/// decides what goes where; this moves the bytes):
///
/// - `append`: one pwrite(2) (an unsynced group). A plain syscall: io_uring
///   has no non-blocking buffered write on ext4 and would punt it to an
///   io-wq worker.
/// - `appendAndSync` with a ring: [zero fill] + the group's write
///   (`write_fixed` when it lies in a registered buffer) linked
///   (IOSQE_IO_LINK) to fdatasync, all in one io_uring_enter; `duringIO`
///   runs while the kernel works. A link cut by a split submission or a
///   short write is made up with pwrite + fdatasync.
/// - `appendAndSync` without a ring (io_uring refused, or not wanted), or
///   of a group marked `viaSyscalls` (a small one, see WALWriter): zero
///   fill, pwrite, `duringIO`, fdatasync, on the calling thread. On ext4
///   the ring punts a buffered write and its fsync to an io-wq worker: for
///   a group whose `duringIO` is short, that hand-off costs more than the
///   overlap gains.
/// - `sync`: fdatasync; `preallocate`: fallocate; `truncate`: ftruncate
///   (a retired log cut to its written end).
///
/// It owns `bufferCount` 4 KiB-aligned buffers the writer encodes groups
/// into (registered with the ring when the kernel allows) and the ring.
/// When the ring fails with I/O in flight, the thrown error says
/// `memoryMayStillBeInUse`, and the buffers, the zeros and the ring are
/// leaked in deinit (`Quarantine`) instead of freed.
///
/// In debug builds a test's `IOHooks` (from the `IOSeam`) may stand in for
/// each operation and call the `system…` one itself; release builds call
/// the system operations directly.
///
/// Not thread-safe: one thread writes at a time (the WAL's slot holder).
package final class LogFile: @unchecked Sendable {
    // @unchecked Sendable: handed between writer threads under the WAL's
    // slot discipline (one holder at a time, handed over under a lock).
    package let path: String
    private let file: File
    /// Synced groups go through this ring; nil: plain syscalls throughout.
    private let ring: Ring?
    /// Whether the ring registered the buffers (write_fixed); false when the
    /// registration was refused (e.g. a low RLIMIT_MEMLOCK in a container):
    /// then plain writes on the ring.
    private let fixedBuffers: Bool
    /// The buffers, back to back (optional only so deinit can leak them).
    private var buffers: AlignedBuffer?
    private let bufferBase: UnsafeMutableRawPointer
    package let bufferSizeBytes: Int
    package let bufferCount: Int
    /// Zeros for the fill ahead of a synced group, allocated at first use.
    private var zeros: AlignedBuffer?
    private var zerosBase: UnsafeMutableRawPointer?
    /// The zero fill's buffer holds this much.
    package static let zeroFillMaxBytes = 1 << 20
    /// Set when the ring failed with I/O in flight (see the type's comment).
    private var quarantined = false
    /// A test's hooks, debug builds only (see `IOSeam`).
    private let slot: IOHookSlot

    /// One synced group: `bytes` at `offset`; `bufferIndex` when the bytes
    /// lie in that buffer of this file (then `write_fixed`); when
    /// `zeroFillBytes` > 0, zeros written at `zeroFillFrom` too, ahead of the
    /// log's end; `viaSyscalls`: pwrite + fdatasync on the calling thread
    /// even when the file has a ring.
    package struct Group {
        package var bytes: UnsafeRawBufferPointer
        package var offset: UInt64
        package var bufferIndex: Int?
        package var zeroFillFrom: UInt64
        package var zeroFillBytes: Int
        package var viaSyscalls: Bool

        package init(bytes: UnsafeRawBufferPointer, offset: UInt64, bufferIndex: Int?,
                     zeroFillFrom: UInt64 = 0, zeroFillBytes: Int = 0, viaSyscalls: Bool = false) {
            self.bytes = bytes
            self.offset = offset
            self.bufferIndex = bufferIndex
            self.zeroFillFrom = zeroFillFrom
            self.zeroFillBytes = zeroFillBytes
            self.viaSyscalls = viaSyscalls
        }
    }

    /// Creates (truncates) the file through `backend`, so a wrapping backend
    /// can fail the open or note the new file. Takes a ring of its own when
    /// `useRing` and io_uring allows it; when io_uring_setup is refused,
    /// `notice` says so and the file uses plain syscalls.
    package init(path: String, bufferCount: Int, bufferSizeBytes: Int, useRing: Bool, backend: any IOBackend,
                 seam: (any IOSeam)?, notice: (String) -> Void) throws(IOError) {
        precondition(bufferCount >= 1 && bufferSizeBytes >= 4096, "log buffers too small")
        self.path = path
        self.bufferCount = bufferCount
        self.bufferSizeBytes = AlignedBuffer.roundUp(bufferSizeBytes)
        #if DEBUG
        slot = IOHookSlot(seam?.hooks(label: path))
        #else
        slot = IOHookSlot()
        #endif
        file = try backend.openFile(path, [.readWrite, .create, .truncate], direct: .off)
        let owned = AlignedBuffer(capacity: bufferCount * self.bufferSizeBytes)
        bufferBase = owned.pointer
        buffers = .some(owned)
        var ring: Ring?
        var fixed = false
        if useRing {
            do {
                let r = try Ring(entries: 8, slot: slot)
                let size = self.bufferSizeBytes
                let base = bufferBase
                let regions = (0..<bufferCount).map {
                    UnsafeMutableRawBufferPointer(start: base + $0 * size, count: size)
                }
                fixed = (try? r.registerBuffers(regions)) != nil
                ring = r
            } catch {
                notice(IOBackends.fallbackNotice(error))
            }
        }
        self.ring = ring
        fixedBuffers = fixed
    }

    deinit {
        try? file.close()
        if quarantined {
            // The kernel may still read these (see the type's comment).
            buffers.take()?.quarantine()
            zeros.take()?.quarantine()
            if let ring { Quarantine.keep(ring) }
        }
    }

    package func close() throws(IOError) { try file.close() }

    /// Whether synced groups go through io_uring.
    package var usesRing: Bool { ring != nil }

    /// The start of buffer `index`.
    package func buffer(_ index: Int) -> UnsafeMutableRawPointer { bufferBase + index * bufferSizeBytes }

    /// The descriptor (for tests that note what reached the file).
    package var fd: Int32 { file.fd }

    // MARK: - Operations (a test's hooks may stand in for each, debug only)

    /// Writes `bytes` at `offset` (pwrite, short writes resumed).
    @inline(__always)
    package func append(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError) {
        #if DEBUG
        if let hooks = slot.hooks { return try hooks.append(self, bytes, at: offset) }
        #endif
        try systemAppend(bytes, at: offset)
    }

    /// Writes `group` and returns once fdatasync completed after it (see the
    /// type's comment). `duringIO` runs once the bytes are on their way; not
    /// when the write fails before that.
    @inline(__always)
    package func appendAndSync(_ group: Group, duringIO: () -> Void) throws(IOError) {
        #if DEBUG
        if let hooks = slot.hooks { return try hooks.appendAndSync(self, group, duringIO: duringIO) }
        #endif
        try systemAppendAndSync(group, duringIO: duringIO)
    }

    /// fdatasync: every byte written before `endOffset` (the writer's end)
    /// is durable when it returns.
    package func sync(through endOffset: UInt64) throws(IOError) {
        #if DEBUG
        if let hooks = slot.hooks { return try hooks.sync(self, through: endOffset) }
        #endif
        try systemSync()
    }

    /// Starts writing [offset, offset + length) of the page cache to the
    /// device without waiting (`File.startWriteback`): not a durability
    /// point, only less for the next fdatasync to write.
    package func startWriteback(offset: UInt64, length: UInt64) throws(IOError) {
        try file.startWriteback(offset: offset, length: length)
    }

    /// Allocates [offset, offset + length) in a call of its own (fallocate
    /// mode 0), so ENOSPC fails before any byte of a group is written.
    package func preallocate(offset: UInt64, length: UInt64) throws(IOError) {
        #if DEBUG
        if let hooks = slot.hooks { return try hooks.preallocate(self, offset: offset, length: length) }
        #endif
        try systemPreallocate(offset: offset, length: length)
    }

    /// Cuts the file to `length` bytes (ftruncate): a retired log gives
    /// back the preallocated space past its written end. Not a durability
    /// point: after a crash the file may have its old size again, the
    /// bytes past `length` zeros as before.
    package func truncate(to length: UInt64) throws(IOError) {
        #if DEBUG
        if let hooks = slot.hooks { return try hooks.truncate(self, to: length) }
        #endif
        try systemTruncate(to: length)
    }

    // MARK: - The system operations

    package func systemAppend(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(IOError) {
        try PosixBackend.pwriteFully(fd: file.fd, from: bytes, offset: offset, slot: slot)
    }

    package func systemSync() throws(IOError) {
        _ = try syscall("fdatasync") { fdatasync(file.fd) }
    }

    package func systemTruncate(to length: UInt64) throws(IOError) {
        try file.truncate(to: length)
    }

    package func systemPreallocate(offset: UInt64, length: UInt64) throws(IOError) {
        // posix_fallocate returns the error number instead of setting errno.
        let rc = posix_fallocate(file.fd, off_t(offset), off_t(length))
        if rc != 0 { throw IOError(operation: "posix_fallocate", errno: rc, offset: offset) }
    }

    package func systemAppendAndSync(_ group: Group, duringIO: () -> Void) throws(IOError) {
        guard let ring, !group.viaSyscalls else {
            if group.zeroFillBytes > 0 {
                try systemAppend(UnsafeRawBufferPointer(start: zerosPointer(), count: group.zeroFillBytes),
                                 at: group.zeroFillFrom)
            }
            try systemAppend(group.bytes, at: group.offset)
            duringIO()
            return try systemSync()
        }
        do {
            try writeAndSync(ring, group, duringIO: duringIO)
        } catch {
            guard ring.failedWith != nil && ring.operationsInFlight > 0 else { throw error }
            quarantined = true
            var inFlight = error
            inFlight.memoryMayStillBeInUse = true
            throw inFlight
        }
    }

    private func zerosPointer() -> UnsafeMutableRawPointer {
        if let zerosBase { return zerosBase }
        let buffer = AlignedBuffer(capacity: LogFile.zeroFillMaxBytes)
        let base = buffer.pointer
        zerosBase = base
        zeros = .some(buffer)
        return base
    }

    private enum Tag: UInt64 { case write = 1, fsync, zeroFill }

    /// One io_uring_enter: [zero fill] + write (fixed when the group lies in
    /// a registered buffer) linked to fdatasync. Runs `duringIO` after the
    /// submission.
    private func writeAndSync(_ ring: Ring, _ group: Group, duringIO: () -> Void) throws(IOError) {
        let bytes = group.bytes
        let base = bytes.baseAddress!  // a group is never empty
        let offset = group.offset
        var expected = 0
        if group.zeroFillBytes > 0 {
            precondition(group.zeroFillBytes <= LogFile.zeroFillMaxBytes, "zero fill larger than its buffer")
            // Not linked: it lands beyond this group's bytes.
            precondition(ring.prepWrite(fd: file.fd, buffer: zerosPointer(), length: group.zeroFillBytes,
                                        offset: group.zeroFillFrom, userData: Tag.zeroFill.rawValue),
                         "log ring full")
            expected += 1
        }
        let fixedIndex = fixedBuffers ? group.bufferIndex : nil
        let prepared = fixedIndex.map {
            ring.prepWriteFixed(fd: file.fd, buffer: base, length: bytes.count, offset: offset, bufferIndex: $0,
                                userData: Tag.write.rawValue, flags: .link)
        } ?? ring.prepWrite(fd: file.fd, buffer: base, length: bytes.count, offset: offset,
                            userData: Tag.write.rawValue, flags: .link)
        precondition(prepared && ring.prepFsync(fd: file.fd, dataOnly: true, userData: Tag.fsync.rawValue),
                     "log ring full")
        expected += 2
        var written = 0
        var synced = false
        var failure: IOError?
        do {
            try ring.submit()
            // A submission the kernel took in two parts may have cut the
            // write → fsync link: the fsync could then run first.
            let linkCut = ring.lastSubmitWasSplit
            duringIO()
            var seen = 0
            while seen < expected {
                seen += ring.harvest { c in
                    switch Tag(rawValue: c.userData) {
                    case .zeroFill:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring write (zero fill)", errno: -c.result,
                                                         path: path, offset: group.zeroFillFrom)
                        }
                    case .write:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring write", errno: -c.result,
                                                         path: path, offset: offset)
                        } else {
                            written = c.result > 0
                                ? slot.transferred(isWrite: true, fd: file.fd, moved: Int(c.result)) : 0
                        }
                    case .fsync:
                        if c.result == 0 { synced = !linkCut } else if c.result != -ECANCELED {
                            failure = failure ?? IOError(operation: "io_uring fdatasync", errno: -c.result, path: path)
                        }
                    case nil:
                        break
                    }
                }
                if seen < expected { try ring.waitForCompletion() }
            }
        } catch {
            failure = failure ?? error.at(path: path)
        }
        if let failure { throw failure }
        // A short write broke the link (the fsync came back -ECANCELED):
        // write the rest and sync on their own.
        if written < bytes.count {
            try systemAppend(UnsafeRawBufferPointer(rebasing: bytes[written...]), at: offset + UInt64(written))
            synced = false
        }
        if !synced { try systemSync() }
    }
}
