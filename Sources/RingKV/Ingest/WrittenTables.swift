#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// The table files this process's `TableFileWriter`s finished, so that
/// ingest need not read back a file whose every block it just wrote
/// (docs/INGEST.md §What ingest does, step 1).
///
/// Data flows: `TableFileWriter.finish`, after its fsync, records the
/// file's identity (device, inode) with what `fstat` says of it (size,
/// modification and status-change times, nanoseconds) and what the writer
/// knows (entry count, first and last key). `IngestJob.check` takes the
/// record of the file it is given (`take`): only when the file is still
/// the same inode, of the same size, with the same mtime and ctime — no
/// write, truncation, rename over it, chmod or link since — does ingest
/// trust the writer's checks (keys strictly increasing, values at sequence
/// 0, CRCs computed from the bytes it wrote) and read the footer, index
/// and meta blocks only. Any other file (another process's, a copy, one
/// changed since) is read whole as before. A record is used once: the
/// ingest's hard link changes the ctime anyway.
enum WrittenTables {
    struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// A file time stamp: seconds and nanoseconds since the epoch.
    struct FileTime: Equatable {
        var seconds: Int64
        var nanoseconds: Int64

        init(_ t: timespec) {
            seconds = Int64(t.tv_sec)
            nanoseconds = Int64(t.tv_nsec)
        }
    }

    /// What the writer knew and `fstat` said when it finished.
    struct Record: Equatable {
        var sizeBytes: Int64
        /// Modification and status-change times as `stat` gives them
        /// (seconds, nanoseconds): any time the filesystem holds, compared
        /// exactly (in nanoseconds alone, one past 2262 overflows Int64).
        var modified: FileTime
        var changed: FileTime
        var entryCount: UInt64
        var smallestUserKey: [UInt8]
        var largestUserKey: [UInt8]
    }

    /// At most this many records are kept (files written and never
    /// ingested should not grow memory without bound); past it, the
    /// oldest half is dropped (those files are then checked whole).
    static let capacity = 1024

    /// Finished files by identity, with the order they were recorded in.
    private static let records = Locked<(byIdentity: [Identity: Record], order: [Identity])>(([:], []))

    /// What `fstat` says of `fd`, or nil when it fails.
    static func status(fd: Int32) -> (Identity, Record)? {
        var s = stat()
        guard fstat(fd, &s) == 0 else { return nil }
        return describe(s)
    }

    /// What `stat` says of `path`, or nil when it fails.
    static func status(path: String) -> (Identity, Record)? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return describe(s)
    }

    private static func describe(_ s: stat) -> (Identity, Record) {
        (Identity(device: UInt64(s.st_dev), inode: UInt64(s.st_ino)),
         Record(sizeBytes: Int64(s.st_size), modified: FileTime(s.st_mtim), changed: FileTime(s.st_ctim),
                entryCount: 0, smallestUserKey: [], largestUserKey: []))
    }

    /// Records a file a writer has just finished and synced (`fd` still open).
    static func remember(fd: Int32, entryCount: UInt64, smallestUserKey: [UInt8], largestUserKey: [UInt8]) {
        guard let (identity, status) = status(fd: fd) else { return }
        var record = status
        record.entryCount = entryCount
        record.smallestUserKey = smallestUserKey
        record.largestUserKey = largestUserKey
        records.withLock { r in
            if r.byIdentity.count >= capacity {
                for old in r.order.prefix(capacity / 2) { r.byIdentity[old] = nil }
                r.order.removeFirst(capacity / 2)
            }
            if r.byIdentity.updateValue(record, forKey: identity) == nil { r.order.append(identity) }
        }
    }

    /// The record of the file at `path` when it is unchanged since its
    /// writer finished it (removed either way); nil otherwise.
    static func take(path: String) -> Record? {
        guard let (identity, now) = status(path: path) else { return nil }
        guard let record = records.withLock({ r -> Record? in
            guard let record = r.byIdentity.removeValue(forKey: identity) else { return nil }
            r.order.removeAll { $0 == identity }
            return record
        }) else { return nil }
        guard record.sizeBytes == now.sizeBytes, record.modified == now.modified,
              record.changed == now.changed else { return nil }
        return record
    }

    /// Forgets every record (tests: every file is then checked whole).
    static func forgetAll() {
        records.withLock { $0 = ([:], []) }
    }
}
