#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// Appends group-committed records to one WAL file through its own ring.
///
/// Owns `bufferCount` registered, 4 KiB-aligned buffers. A group is copied
/// into the next buffer (round robin) and submitted as `write_fixed`,
/// linked (IOSQE_IO_LINK) to an `fsync(DATASYNC)` when any writer of the
/// group asked for `sync` — both SQEs go to the kernel in one
/// io_uring_enter. When the file must grow, a `fallocate` SQE is linked in
/// front of the write in the same submission.
///
/// Not thread-safe: only the current group leader calls it (the DB's
/// writer queue guarantees one at a time).
final class WALWriter {
    let path: String
    let number: UInt64
    private let file: File
    private let ring: Ring
    private let buffers: AlignedBuffer
    private let bufferSizeBytes: Int
    private let bufferCount: Int
    private var nextBuffer = 0
    /// Where the next record goes (end of the valid log).
    private(set) var offsetBytes: UInt64 = 0
    /// The file is allocated (and zero-filled) up to here.
    private var allocatedBytes: UInt64 = 0
    private let preallocateStepBytes: UInt64
    /// How many groups were submitted, and with an fsync (stats/tests).
    private(set) var groupCount = 0
    private(set) var syncedGroupCount = 0

    init(path: String, number: UInt64, bufferCount: Int, bufferSizeBytes: Int,
         preallocateStepBytes: UInt64) throws {
        precondition(bufferCount >= 1 && bufferSizeBytes >= 4096, "WAL buffers too small")
        self.path = path
        self.number = number
        self.bufferCount = bufferCount
        self.bufferSizeBytes = AlignedBuffer.roundUp(bufferSizeBytes)
        self.preallocateStepBytes = max(preallocateStepBytes, 1 << 20)
        file = try ioCall(path) { () throws(IOError) in try File.open(path, [.readWrite, .create, .truncate]) }
        ring = try ioCall(path) { () throws(IOError) in try Ring(entries: 8) }
        buffers = AlignedBuffer(capacity: bufferCount * self.bufferSizeBytes)
        let base = buffers.pointer
        let size = self.bufferSizeBytes
        let regions = (0..<bufferCount).map { UnsafeMutableRawBufferPointer(start: base + $0 * size, count: size) }
        try ioCall(path) { () throws(IOError) in try ring.registerBuffers(regions) }
    }

    deinit { try? file.close() }

    func close() throws {
        try ioCall(path) { () throws(IOError) in try file.close() }
    }

    private enum Tag: UInt64 { case fallocate = 1, write, fsync }

    /// Writes `payloads` as consecutive records; with `sync`, returns only
    /// after fdatasync completed. Throws `DBError.io` on any failure — the
    /// caller must then stop using this log (no fsync retry).
    func writeGroup(_ payloads: [[UInt8]], sync: Bool) throws {
        let total = payloads.reduce(0) { $0 + LogRecord.headerSize + $1.count }
        if total == 0 { return }
        let growBy = offsetBytes + UInt64(total) > allocatedBytes
            ? max(preallocateStepBytes, UInt64(total)) : 0
        // A group larger than one registered buffer gets a temporary buffer
        // and a plain (non-fixed) write.
        let oversized = total > bufferSizeBytes
        let bufferIndex = nextBuffer
        let destination = oversized
            ? UnsafeMutableRawPointer.allocate(byteCount: total, alignment: AlignedBuffer.alignment)
            : buffers.pointer + bufferIndex * bufferSizeBytes
        defer { if oversized { destination.deallocate() } }
        var at = 0
        for payload in payloads {
            payload.withUnsafeBytes { LogRecord.encode($0, into: destination + at) }
            at += LogRecord.headerSize + payload.count
        }
        nextBuffer = (nextBuffer + 1) % bufferCount

        let writeOffset = offsetBytes
        var expected = 0
        if growBy > 0 {
            precondition(ring.prepFallocate(fd: file.fd, offset: allocatedBytes, length: growBy,
                                            userData: Tag.fallocate.rawValue, flags: .link), "WAL ring full")
            expected += 1
        }
        let writeFlags: SQEFlags = sync ? .link : []
        let prepared = oversized
            ? ring.prepWrite(fd: file.fd, buffer: destination, length: total, offset: writeOffset,
                             userData: Tag.write.rawValue, flags: writeFlags)
            : ring.prepWriteFixed(fd: file.fd, buffer: destination, length: total, offset: writeOffset,
                                  bufferIndex: bufferIndex, userData: Tag.write.rawValue, flags: writeFlags)
        precondition(prepared, "WAL ring full")
        expected += 1
        if sync {
            precondition(ring.prepFsync(fd: file.fd, dataOnly: true, userData: Tag.fsync.rawValue), "WAL ring full")
            expected += 1
        }
        var written = 0
        var synced = !sync
        var failure: IOError?
        do {
            try ring.submitAndWait(expected)
            var seen = 0
            while seen < expected {
                seen += ring.harvest { c in
                    switch Tag(rawValue: c.userData) {
                    case .fallocate:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring fallocate", errno: -c.result,
                                                         path: path, offset: allocatedBytes)
                        }
                    case .write:
                        if c.result < 0 {
                            failure = failure ?? IOError(operation: "io_uring write_fixed", errno: -c.result,
                                                         path: path, offset: writeOffset)
                        } else {
                            written = Int(c.result)
                        }
                    case .fsync:
                        if c.result == 0 { synced = true } else if c.result != -ECANCELED {
                            failure = failure ?? IOError(operation: "io_uring fdatasync", errno: -c.result, path: path)
                        }
                    case nil:
                        break
                    }
                }
                if seen < expected { try ring.waitForCompletion() }
            }
        } catch {
            failure = error.at(path: path)
        }
        if let failure { throw DBError.io(failure) }
        if growBy > 0 { allocatedBytes += growBy }
        // A short write broke the link (the fsync came back -ECANCELED):
        // finish the remainder and sync on their own.
        if written < total {
            try finishShortWrite(from: destination + written, count: total - written,
                                 offset: writeOffset + UInt64(written))
            synced = !sync
        }
        if !synced { try syncNow() }
        offsetBytes = writeOffset + UInt64(total)
        groupCount += 1
        if sync { syncedGroupCount += 1 }
    }

    private func finishShortWrite(from pointer: UnsafeMutableRawPointer, count: Int, offset: UInt64) throws {
        var done = 0
        while done < count {
            precondition(ring.prepWrite(fd: file.fd, buffer: pointer + done, length: count - done,
                                        offset: offset + UInt64(done), userData: Tag.write.rawValue), "WAL ring full")
            let result = try singleResult()
            if result <= 0 {
                throw DBError.io(IOError(operation: "io_uring write", errno: result < 0 ? -result : EIO,
                                         path: path, offset: offset + UInt64(done)))
            }
            done += Int(result)
        }
    }

    private func syncNow() throws {
        precondition(ring.prepFsync(fd: file.fd, dataOnly: true, userData: Tag.fsync.rawValue), "WAL ring full")
        let result = try singleResult()
        if result < 0 { throw DBError.io(IOError(operation: "io_uring fdatasync", errno: -result, path: path)) }
    }

    private func singleResult() throws -> Int32 {
        try ioCall(path) { () throws(IOError) in
            try ring.submitAndWait(1)
            var result: Int32?
            while result == nil {
                ring.harvest { result = $0.result }
                if result == nil { try ring.waitForCompletion() }
            }
            return result ?? 0
        }
    }
}
