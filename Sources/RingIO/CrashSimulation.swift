#if canImport(Glibc)
import Glibc
#endif
import CRingSupport

/// Test-only power-loss simulation ("drop unsynced data"): remembers every
/// file the engine created through a `FaultInjectingBackend` and how much
/// of it was made durable, then, after the engine was abandoned without a
/// clean close, throws away everything else.
///
/// What counts as durable (the *synced watermark* of a file):
/// - a backend `sync` (fsync/fdatasync) makes the file's size at that
///   moment durable (tables, MANIFEST, the CURRENT temp file);
/// - the WAL writer reports the end of each group whose fdatasync
///   completed (`noteLogSynced`); the WAL is preallocated and zero-filled
///   ahead, so its size says nothing;
/// - a directory fsync makes the *names* of files created in it durable
///   (watermark 0 when nothing was synced yet); a rename moves the record.
///
/// `simulateCrash` then, for every tracked file that still exists:
/// deletes it when neither it nor its directory was synced since it was
/// created; overwrites a log's bytes past its watermark with zeros (what
/// the preallocated file held before); cuts any other file at its
/// watermark. With a tear, a random part of the first unsynced 4 KiB page
/// survives (see `Tear`).
public final class DurabilityTracker: Sendable {
    /// What happens to the first page past the watermark.
    public enum Tear: Sendable {
        /// Everything past the watermark is dropped.
        case none
        /// A random prefix of the unsynced bytes in the first unsynced page
        /// survives (the page was partly written out when power went);
        /// the rest of the page is what was there before: zeros in a log,
        /// nothing (end of file) elsewhere.
        case prefix
        /// Like `prefix`, but the rest of that page is random bytes (a
        /// device that scrambles a sector it was writing).
        case garbage
    }

    /// What a simulated crash did, for test messages.
    public struct Report: Sendable, CustomStringConvertible {
        public var removed: [String] = []
        /// Files cut back: the bytes that survived intact and the unsynced
        /// bytes dropped (zeroed, cut off or turned to garbage).
        public var cut: [(path: String, keptBytes: UInt64, droppedBytes: UInt64)] = []
        public var description: String {
            let names = cut.map { "\(FileSystem.baseName($0.path)) kept \($0.keptBytes) dropped \($0.droppedBytes)" }
            return "removed \(removed.map(FileSystem.baseName)), cut \(names)"
        }
    }

    private struct TrackedFile {
        var path: String
        /// Bytes known durable; nil: not even the name is.
        var syncedBytes: UInt64?
        /// Set for a preallocated log: unsynced bytes are zeroed, not cut.
        var isLog = false
        /// Log only: end of the last write.
        var writtenBytes: UInt64 = 0
    }

    /// Tracked files by inode (a rename keeps the inode; a deleted file's
    /// inode may come back for a new file, which replaces the record).
    private let files = Locked([UInt64: TrackedFile]())

    public init() {}

    /// The path `fd` was opened with, as the kernel knows it now.
    static func path(fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func inode(fd: Int32) -> UInt64? {
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    static func sizeAndInode(fd: Int32) -> (size: UInt64, inode: UInt64)? {
        var st = stat()
        return fstat(fd, &st) == 0 ? (UInt64(st.st_size), UInt64(st.st_ino)) : nil
    }

    // MARK: - Notes from the engine's I/O sites

    /// A file was created (opened with `.create`): nothing of it is durable.
    public func noteCreated(fd: Int32, path: String) {
        guard let inode = DurabilityTracker.inode(fd: fd) else { return }
        files.withLock { $0[inode] = TrackedFile(path: path, syncedBytes: nil) }
    }

    /// fsync/fdatasync of `fd` completed: its current size is durable.
    public func noteSynced(fd: Int32) {
        guard let (size, inode) = DurabilityTracker.sizeAndInode(fd: fd) else { return }
        files.withLock { files in
            guard var file = files[inode], !file.isLog else { return }
            file.syncedBytes = max(file.syncedBytes ?? 0, size)
            files[inode] = file
        }
    }

    /// A log write of [.., endOffset) completed (in the page cache only).
    public func noteLogWritten(fd: Int32, endOffset: UInt64) {
        guard let inode = DurabilityTracker.inode(fd: fd) else { return }
        files.withLock { files in
            guard var file = files[inode] else { return }
            file.isLog = true
            file.writtenBytes = max(file.writtenBytes, endOffset)
            files[inode] = file
        }
    }

    /// The log's fdatasync completed after its writes up to `endOffset`.
    public func noteLogSynced(fd: Int32, endOffset: UInt64) {
        guard let inode = DurabilityTracker.inode(fd: fd) else { return }
        files.withLock { files in
            guard var file = files[inode] else { return }
            file.isLog = true
            file.syncedBytes = max(file.syncedBytes ?? 0, endOffset)
            files[inode] = file
        }
    }

    public func noteRenamed(from: String, to: String) {
        files.withLock { files in
            for (inode, file) in files where file.path == to { files[inode] = nil }
            for (inode, file) in files where file.path == from { files[inode]?.path = to }
        }
    }

    /// The directory's entries are durable: every file created in it keeps
    /// its name after a crash (with no content unless synced).
    public func noteDirectorySynced(_ directory: String) {
        files.withLock { files in
            for (inode, file) in files
            where file.syncedBytes == nil && FileSystem.parentDirectory(of: file.path) == directory {
                files[inode]?.syncedBytes = 0
            }
        }
    }

    /// Forgets every tracked file (after a crash was simulated, or to
    /// start tracking afresh).
    public func reset() { files.withLock { $0 = [:] } }

    // MARK: - The crash

    /// Drops every unsynced byte of every tracked file (see the type's
    /// comment), then forgets them all. Call only when nothing writes the
    /// files any more (the engine was abandoned). `seed` picks the torn
    /// prefix lengths and the garbage, so a failing round can be replayed.
    @discardableResult
    public func simulateCrash(tear: Tear = .none, seed: UInt64 = 0) throws(IOError) -> Report {
        let tracked = files.withLock { files in
            defer { files = [:] }
            return files.sorted { $0.value.path < $1.value.path }
        }
        var random = SplitMix64(seed: seed)
        var report = Report()
        for (inode, file) in tracked {
            var st = stat()
            guard stat(file.path, &st) == 0, UInt64(st.st_ino) == inode else { continue }  // deleted or replaced
            guard let synced = file.syncedBytes else {
                try FileSystem.remove(file.path)
                report.removed.append(file.path)
                continue
            }
            let size = UInt64(st.st_size)
            let end = file.isLog ? min(file.writtenBytes, size) : size
            guard end > synced else { continue }
            let pageEnd = min((synced / 4096 + 1) * 4096, end)
            var kept = synced
            if tear != .none { kept += random.next() % (pageEnd - synced + 1) }
            let survived = kept
            let fd = try syscall("open", path: file.path) { open(file.path, O_WRONLY | O_CLOEXEC) }
            defer { close(fd) }
            if tear == .garbage && kept < pageEnd {
                let garbage = (kept..<pageEnd).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                try DurabilityTracker.write(fd: fd, garbage, at: kept, path: file.path)
                kept = pageEnd
            }
            if file.isLog {
                try DurabilityTracker.write(fd: fd, [UInt8](repeating: 0, count: Int(end - kept)), at: kept,
                                            path: file.path)
            } else {
                _ = try syscall("ftruncate", path: file.path, offset: kept) { ftruncate(fd, off_t(kept)) }
            }
            report.cut.append((file.path, survived, end - survived))
        }
        return report
    }

    private static func write(fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws(IOError) {
        var done = 0
        while done < bytes.count {
            let n = try syscall("pwrite", path: path, offset: offset + UInt64(done)) {
                bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            }
            done += n
        }
    }

}

extension FaultPlan {
    /// Simulates a power loss on every file created while this plan was
    /// attached: see `DurabilityTracker`.
    @discardableResult
    public func simulateCrash(tear: DurabilityTracker.Tear = .none, seed: UInt64 = 0) throws(IOError)
        -> DurabilityTracker.Report {
        try durability.simulateCrash(tear: tear, seed: seed)
    }
}
