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
