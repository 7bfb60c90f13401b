import NIOPosix
import RingKV

/// What the routes need from the database, in two implementations: the
/// async API, and the synchronous API on a thread pool (the usual way to
/// call a blocking library from a server) for comparison.
protocol KVStore: Sendable {
    func get(_ key: [UInt8]) async throws -> [UInt8]?
    func put(_ key: [UInt8], _ value: [UInt8]) async throws
    func delete(_ key: [UInt8]) async throws
    func scan(from: [UInt8], to: [UInt8]?, limit: Int) async throws -> [(key: [UInt8], value: [UInt8])]
}

/// RingKV's async overloads: reads suspend on io_uring completions, writes
/// on their group commit; no thread waits for the disk.
struct AsyncStore: KVStore {
    let db: DB

    func get(_ key: [UInt8]) async throws -> [UInt8]? { try await db.get(key) }
    func put(_ key: [UInt8], _ value: [UInt8]) async throws { try await db.put(key, value) }
    func delete(_ key: [UInt8]) async throws { try await db.delete(key) }

    func scan(from: [UInt8], to: [UInt8]?, limit: Int) async throws -> [(key: [UInt8], value: [UInt8])] {
        var rows: [(key: [UInt8], value: [UInt8])] = []
        if limit <= 0 { return rows }
        for try await row in db.entries(from: from, to: to) {
            rows.append(row)
            if rows.count == limit { break }
        }
        return rows
    }
}

/// The synchronous API, each call run on one of `threads` pool threads
/// (NIOThreadPool), the task suspended meanwhile.
struct PoolStore: KVStore {
    let db: DB
    let pool: NIOThreadPool

    init(db: DB, threads: Int) {
        self.db = db
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    func get(_ key: [UInt8]) async throws -> [UInt8]? {
        try await pool.runIfActive { [db] in try db.get(key) }
    }

    func put(_ key: [UInt8], _ value: [UInt8]) async throws {
        try await pool.runIfActive { [db] in try db.put(key, value) }
    }

    func delete(_ key: [UInt8]) async throws {
        try await pool.runIfActive { [db] in try db.delete(key) }
    }

    func scan(from: [UInt8], to: [UInt8]?, limit: Int) async throws -> [(key: [UInt8], value: [UInt8])] {
        let rows = try await pool.runIfActive { [db] in
            try db.scan(from: from, to: to, limit: limit).map { Row(key: $0.key, value: $0.value) }
        }
        return rows.map { ($0.key, $0.value) }
    }

    /// A Sendable row (tuples of arrays are Sendable, but not inferred as
    /// such through `map` here).
    private struct Row: Sendable {
        let key: [UInt8]
        let value: [UInt8]
    }
}
