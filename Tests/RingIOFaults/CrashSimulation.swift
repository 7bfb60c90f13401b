#if canImport(Glibc)
import Glibc
#endif
import CRingSupport
import RingIO

/// Test-only power loss ("drop unsynced data"), applied to the files a
/// `DurabilityTracker` followed, after the engine was abandoned without a
/// clean close. What a real disk and filesystem may do, and so what this
/// does (ALICE, OSDI 2014; LevelDB's and RocksDB's fault-injection
/// environments):
/// - directory changes not covered by an fsync of their directory may be
///   undone — a created file or directory vanishes, a removed file comes
///   back, a rename is reverted (and the file it replaced returns);
/// - of the unsynced bytes of each file, any subset of the 4 KiB pages may
///   have reached the disk, in any order; a page may be torn (a prefix
///   written, the rest old) or scrambled (garbage); an unsynced size change
///   may be lost (a file that is not a log may end anywhere between its
///   synced size and its size). "Old" bytes are zeros: a WAL is
///   zero-filled ahead of its end, and other files only ever append.
extension DurabilityTracker {
    /// What happens to unsynced file contents.
    public enum Tear: Sendable {
        /// Every unsynced byte is lost.
        case none
        /// A random prefix of the unsynced bytes of the first unsynced page
        /// survives; the rest is lost.
        case prefix
        /// Like `prefix`, but the rest of that page is random bytes.
        case garbage
        /// Each unsynced page independently: reached the disk, lost
        /// (zeros), torn (a random prefix of it reached the disk) or torn
        /// with garbage after the prefix; and a file that is not a log may
        /// keep any size between its synced size and its size.
        case pages
    }

    /// Which pending directory changes a crash undoes.
    public enum DirectoryPolicy: Sendable {
        /// None: every change reached the disk.
        case keepAll
        /// All of them.
        case undoAll
        /// Each one independently, with probability 1/2.
        case random
        /// Those the predicate picks.
        case undo(@Sendable (DirectoryChange) -> Bool)
    }

    /// What a simulated crash did, for test messages.
    public struct Report: Sendable, CustomStringConvertible {
        /// Directory changes undone.
        public var undone: [DirectoryChange] = []
        /// Files whose unsynced content changed: the bytes that were
        /// dropped, zeroed, torn or scrambled.
        public var damaged: [(path: String, bytes: UInt64)] = []
        public var droppedBytes: UInt64 { damaged.reduce(0) { $0 + $1.bytes } }
        public var description: String {
            let files = damaged.map { "\(FileSystem.baseName($0.path)) \($0.bytes) B" }
            return "undone \(undone.map(\.description)), damaged \(files)"
        }
    }

    /// Undoes pending directory changes by `directories`, then damages
    /// every tracked file's unsynced bytes by `tear`, then forgets
    /// everything tracked. Call only when nothing writes the files any more
    /// (the engine was abandoned). `seed` makes the choices replayable.
    @discardableResult
    public func simulateCrash(tear: Tear = .none, directories: DirectoryPolicy = .undoAll,
                              seed: UInt64 = 0) throws(IOError) -> Report {
        var snapshot = state.withLock { s in
            defer { s = State() }
            return s
        }
        var random = SplitMix64(seed: seed)
        var report = Report()
        var graveyards = Set<String>()
        // Newest first: each undo sees the directory as it was right after
        // the change it reverts, whatever was kept after it.
        for pending in snapshot.pending.reversed() {
            if let kept = pending.kept { graveyards.insert(FileSystem.parentDirectory(of: kept)) }
            let undo: Bool
            switch directories {
            case .keepAll: undo = false
            case .undoAll: undo = true
            case .random: undo = random.next() & 1 == 0
            case .undo(let pick): undo = pick(pending.change)
            }
            if undo, try DurabilityTracker.revert(pending, files: &snapshot.files) {
                report.undone.append(pending.change)
            }
        }
        for (inode, file) in snapshot.files.sorted(by: { ($0.value.path ?? "") < ($1.value.path ?? "") }) {
            guard let path = file.path, DurabilityTracker.inode(path: path) == inode else { continue }
            let bytes = try DurabilityTracker.damage(file, at: path, tear: tear, random: &random)
            if bytes > 0 { report.damaged.append((path, bytes)) }
        }
        for graveyard in graveyards { try? FileSystem.removeTree(graveyard) }
        return report
    }

    // MARK: - Directory entries

    /// Reverts one change if the directory still shows it; returns whether
    /// it did.
    private static func revert(_ pending: Pending, files: inout [UInt64: TrackedFile]) throws(IOError) -> Bool {
        switch pending.change {
        case .create(let path):
            guard inode(path: path) == pending.inode else { return false }
            try FileSystem.remove(path)
            files[pending.inode]?.path = nil
        case .remove(let path):
            guard let kept = pending.kept, !FileSystem.exists(path) else { return false }
            _ = try syscall("link", path: path) { Glibc.link(kept, path) }
            files[pending.inode]?.path = path
        case .rename(let from, let to):
            guard inode(path: to) == pending.inode, !FileSystem.exists(from) else { return false }
            try FileSystem.rename(to, to: from)
            files[pending.inode]?.path = from
            if let kept = pending.kept {
                _ = try syscall("link", path: to) { Glibc.link(kept, to) }
                if let replaced = pending.keptInode { files[replaced]?.path = to }
            }
        case .createDirectory(let path):
            guard FileSystem.isDirectory(path) else { return false }
            try FileSystem.removeTree(path)
            for (inode, file) in files where file.path.map({ $0.hasPrefix(path + "/") }) ?? false {
                files[inode]?.path = nil
            }
        }
        return true
    }

    // MARK: - File contents

    /// Damages the unsynced bytes of one file; returns how many changed.
    private static func damage(_ file: TrackedFile, at path: String, tear: Tear,
                               random: inout SplitMix64) throws(IOError) -> UInt64 {
        let size = try FileSystem.fileSize(path)
        let synced = min(file.syncedBytes, size)
        let end = file.isLog ? min(file.writtenBytes, size) : size
        guard end > synced else { return 0 }
        let fd = try syscall("open", path: path) { open(path, O_RDWR | O_CLOEXEC) }
        defer { close(fd) }
        var contents = try read(fd: fd, from: synced, count: Int(end - synced), path: path)
        let original = contents
        var newEnd = end
        let pageSize: UInt64 = 4096
        switch tear {
        case .none, .prefix, .garbage:
            let firstPageEnd = min((synced / pageSize + 1) * pageSize, end)
            var kept = tear == .none ? 0 : Int(random.next() % (firstPageEnd - synced + 1))
            if tear == .garbage {
                while kept < Int(firstPageEnd - synced) {
                    contents[kept] = UInt8(truncatingIfNeeded: random.next())
                    kept += 1
                }
            }
            for i in kept..<contents.count { contents[i] = 0 }
            if !file.isLog { newEnd = synced + UInt64(kept) }
        case .pages:
            if !file.isLog {
                switch random.next() % 3 {
                case 0: newEnd = end
                case 1: newEnd = synced
                default: newEnd = synced + random.next() % (end - synced + 1)
                }
            }
            var pageStart = synced / pageSize * pageSize
            while pageStart < newEnd {
                let lo = Int(max(pageStart, synced) - synced)
                let hi = Int(min(pageStart + pageSize, newEnd) - synced)
                let choice = random.next() % 20
                // 8 in 20: the page reached the disk whole.
                if choice >= 8 {
                    // 6 in 20 lost; 6 in 20 torn after a random prefix,
                    // half of those with garbage after it.
                    let prefix = choice < 14 ? lo : lo + Int(random.next() % UInt64(hi - lo + 1))
                    for i in prefix..<hi {
                        contents[i] = choice >= 17 ? UInt8(truncatingIfNeeded: random.next()) : 0
                    }
                }
                pageStart += pageSize
            }
        }
        let keptCount = Int(newEnd - synced)
        var changed = UInt64(contents.count - keptCount)
        for i in 0..<keptCount where contents[i] != original[i] { changed += 1 }
        if file.isLog {
            // The size stays (preallocated); what was lost reads as zeros.
            for i in keptCount..<contents.count { contents[i] = 0 }
            try write(fd: fd, contents, at: synced, path: path)
        } else {
            try write(fd: fd, Array(contents.prefix(keptCount)), at: synced, path: path)
            _ = try syscall("ftruncate", path: path, offset: newEnd) { ftruncate(fd, off_t(newEnd)) }
        }
        return changed
    }

    private static func read(fd: Int32, from offset: UInt64, count: Int, path: String) throws(IOError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = try syscall("pread", path: path, offset: offset + UInt64(done)) {
                bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            }
            if n == 0 { break }
            done += n
        }
        return bytes
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
    /// Simulates a power loss on everything the engine did through this
    /// plan's backend: see `DurabilityTracker.simulateCrash`.
    @discardableResult
    public func simulateCrash(tear: DurabilityTracker.Tear = .none,
                              directories: DurabilityTracker.DirectoryPolicy = .undoAll,
                              seed: UInt64 = 0) throws(IOError) -> DurabilityTracker.Report {
        try durability.simulateCrash(tear: tear, directories: directories, seed: seed)
    }
}
