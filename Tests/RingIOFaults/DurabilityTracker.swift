#if canImport(Glibc)
import Glibc
#endif
import CRingSupport
import RingIO

/// Test-only bookkeeping for power-loss simulation: what the engine made
/// durable through a `FaultInjectingBackend` (and, for its logs, through a
/// plan's `FaultHooks` in the WAL's `LogFile`), so that `simulateCrash`
/// (CrashSimulation.swift) can throw away everything else.
///
/// Two kinds of durability, tracked apart because disks and filesystems
/// lose them apart:
/// - **File contents.** A file's *synced watermark*: its size at its last
///   fsync/fdatasync (tables, MANIFEST, CURRENT's temp file, lost/ copies),
///   or, for a WAL, the end of the last group whose fdatasync completed
///   (the log file's hooks report it: `noteLogSynced`; the log is preallocated
///   and zero-filled ahead, so its size says nothing). Bytes past it are
///   unsynced.
/// - **Directory entries.** Every create, removal, rename and mkdir since
///   the last fsync of the directory it changed is *pending*: a crash may
///   undo it. A removed or replaced file is kept as a hard link in a
///   graveyard next to the directory until then, so an undone removal can
///   bring it back.
public final class DurabilityTracker: Sendable {
    /// A directory change a crash may undo (not yet covered by a directory
    /// fsync).
    public enum DirectoryChange: Sendable, CustomStringConvertible {
        case create(path: String)
        case remove(path: String)
        case rename(from: String, to: String)
        case createDirectory(path: String)

        /// The directory whose fsync makes the change durable.
        public var directory: String {
            switch self {
            case .create(let p), .remove(let p), .createDirectory(let p): return FileSystem.parentDirectory(of: p)
            case .rename(_, let to): return FileSystem.parentDirectory(of: to)
            }
        }

        public var description: String {
            switch self {
            case .create(let p): return "create \(FileSystem.baseName(p))"
            case .remove(let p): return "remove \(FileSystem.baseName(p))"
            case .rename(let from, let to): return "rename \(FileSystem.baseName(from)) -> \(FileSystem.baseName(to))"
            case .createDirectory(let p): return "mkdir \(FileSystem.baseName(p))"
            }
        }
    }

    struct Pending {
        var change: DirectoryChange
        /// The file created, removed or renamed (0 for a directory).
        var inode: UInt64
        /// Graveyard link of the file a removal or a rename took away.
        var kept: String?
        var keptInode: UInt64?
    }

    struct TrackedFile {
        /// Its name now; nil once removed.
        var path: String?
        /// Bytes of content known durable.
        var syncedBytes: UInt64 = 0
        /// A preallocated log: unsynced bytes turn back to zeros, the size
        /// stays.
        var isLog = false
        /// Log only: end of the last write.
        var writtenBytes: UInt64 = 0
    }

    struct State {
        /// Files by inode (a rename keeps the inode).
        var files: [UInt64: TrackedFile] = [:]
        var pending: [Pending] = []
        var graveyardLinks = 0
    }

    let state = Locked(State())

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

    static func inode(path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    static func sizeAndInode(fd: Int32) -> (size: UInt64, inode: UInt64)? {
        var st = stat()
        return fstat(fd, &st) == 0 ? (UInt64(st.st_size), UInt64(st.st_ino)) : nil
    }

    /// Where removed files wait until their directory is synced: beside
    /// the directory (same filesystem, so a hard link works; outside it, so
    /// the engine never lists it).
    static func graveyard(for directory: String) -> String {
        FileSystem.parentDirectory(of: directory) + "/.ringkv-crash-graveyard"
    }

    // MARK: - Notes from the engine's I/O sites

    /// `fd` was opened on `path` with `.create` (`created`: the name is
    /// new) or `.truncate`: nothing of its content is durable.
    public func noteOpened(fd: Int32, path: String, created: Bool) {
        guard let inode = DurabilityTracker.inode(fd: fd) else { return }
        state.withLock { s in
            s.files[inode] = TrackedFile(path: path)
            if created { s.pending.append(Pending(change: .create(path: path), inode: inode)) }
        }
    }

    /// fsync/fdatasync of `fd` completed: its current size is durable.
    public func noteSynced(fd: Int32) {
        guard let (size, inode) = DurabilityTracker.sizeAndInode(fd: fd) else { return }
        state.withLock { s in
            guard var file = s.files[inode], !file.isLog else { return }
            file.syncedBytes = max(file.syncedBytes, size)
            s.files[inode] = file
        }
    }

    /// A log write of [.., endOffset) completed (in the page cache only).
    public func noteLogWritten(fd: Int32, endOffset: UInt64) {
        updateLog(fd: fd) { $0.writtenBytes = max($0.writtenBytes, endOffset) }
    }

    /// The log's fdatasync completed after its writes up to `endOffset`.
    public func noteLogSynced(fd: Int32, endOffset: UInt64) {
        updateLog(fd: fd) { $0.syncedBytes = max($0.syncedBytes, endOffset) }
    }

    private func updateLog(fd: Int32, _ update: (inout TrackedFile) -> Void) {
        guard let inode = DurabilityTracker.inode(fd: fd) else { return }
        state.withLock { s in
            guard var file = s.files[inode] else { return }
            file.isLog = true
            update(&file)
            s.files[inode] = file
        }
    }

    /// Before `path` is removed or replaced: a hard link to it in the
    /// graveyard (nil when it does not exist).
    public func keep(_ path: String) throws(IOError) -> (link: String, inode: UInt64)? {
        guard let inode = DurabilityTracker.inode(path: path) else { return nil }
        let graveyard = DurabilityTracker.graveyard(for: FileSystem.parentDirectory(of: path))
        let n = state.withLock { s in
            s.graveyardLinks += 1
            return s.graveyardLinks
        }
        if !FileSystem.isDirectory(graveyard) { try FileSystem.createDirectory(graveyard) }
        let link = graveyard + "/\(inode)-\(n)"
        _ = try syscall("link", path: path) { Glibc.link(path, link) }
        return (link, inode)
    }

    /// Drops a graveyard link taken for an operation that then failed.
    public func release(_ kept: (link: String, inode: UInt64)?) {
        if let kept { try? FileSystem.remove(kept.link) }
    }

    public func noteRemoved(_ path: String, kept: (link: String, inode: UInt64)?) {
        guard let kept else { return }
        state.withLock { s in
            s.files[kept.inode]?.path = nil
            s.pending.append(Pending(change: .remove(path: path), inode: kept.inode, kept: kept.link,
                                     keptInode: kept.inode))
        }
    }

    /// `from` (inode `inode`) was renamed over `to`, whose old file (if
    /// any) is `replaced`.
    public func noteRenamed(from: String, to: String, inode: UInt64, replaced: (link: String, inode: UInt64)?) {
        state.withLock { s in
            if let replaced { s.files[replaced.inode]?.path = nil }
            s.files[inode]?.path = to
            s.pending.append(Pending(change: .rename(from: from, to: to), inode: inode, kept: replaced?.link,
                                     keptInode: replaced?.inode))
        }
    }

    public func noteDirectoryCreated(_ path: String) {
        state.withLock { s in s.pending.append(Pending(change: .createDirectory(path: path), inode: 0)) }
    }

    /// The directory's entries are durable: its pending changes can no
    /// longer be undone, and the files they took away are gone for good.
    public func noteDirectorySynced(_ directory: String) {
        let released = state.withLock { s -> [String] in
            let done = s.pending.filter { $0.change.directory == directory }
            s.pending.removeAll { $0.change.directory == directory }
            return done.compactMap(\.kept)
        }
        for link in released { try? FileSystem.remove(link) }
    }

    /// The changes a crash could still undo, oldest first.
    public var pendingChanges: [DirectoryChange] { state.withLock { $0.pending.map(\.change) } }

    /// Forgets everything (and empties the graveyards): start tracking
    /// afresh.
    public func reset() {
        let links = state.withLock { s -> [String] in
            defer { s = State() }
            return s.pending.compactMap(\.kept)
        }
        for link in links { try? FileSystem.remove(link) }
    }
}
