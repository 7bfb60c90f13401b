import Glibc
@_exported import TestSupport
import RingIO
@testable import RingKV

func openOptions(memtableBytes: Int = 64 << 20) -> Options {
    var options = Options()
    options.createIfMissing = true
    options.memtableSizeBytes = memtableBytes
    options.walPreallocateBytes = 1 << 20
    return options
}


/// Every row of `db` as UTF-8 strings (crash, race and power-cut tests
/// compare these).
func stringContents(of db: DB) throws -> [String: String] {
    var state: [String: String] = [:]
    for row in try db.scan() {
        state[String(decoding: row.key, as: UTF8.self)] = String(decoding: row.value, as: UTF8.self)
    }
    return state
}

/// `stringContents(of:)` of the database at `path`, opened with `options`
/// and closed again.
func stringContents(_ path: String, options: Options) throws -> [String: String] {
    let db = try DB(path: path, options: options)
    defer { try? db.close() }
    return try stringContents(of: db)
}

extension BackgroundThread {
    /// A thread for a test; a thread that cannot start ends the run loudly.
    static func spawn(name: String? = nil, _ body: @escaping @Sendable () -> Void) -> BackgroundThread {
        do { return try BackgroundThread(name: name, body) } catch { fatalError("test thread: \(error)") }
    }
}

/// Bind-mounts `path` read-only at `mountPoint` (created): a directory
/// where an open can create no LOCK file. False, with a "skipped" line,
/// without the privilege to mount; the caller unmounts a true one
/// (`umount2(mountPoint, Int32(MNT_DETACH))`).
func mountReadOnlyView(of path: String, at mountPoint: String) throws -> Bool {
    try FileSystem.createDirectory(mountPoint)
    guard mount(path, mountPoint, nil, UInt(MS_BIND), nil) == 0 else {
        print("skipped: cannot bind-mount (errno \(errno))")
        return false
    }
    guard mount(nil, mountPoint, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil) == 0 else {
        print("skipped: cannot remount read-only (errno \(errno))")
        umount2(mountPoint, Int32(MNT_DETACH))
        return false
    }
    return true
}
