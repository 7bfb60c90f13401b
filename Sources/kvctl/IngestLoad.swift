import Glibc
import RingIO
import RingKV

/// `kvctl load --ingest`: the lines become table files (TableFileWriter)
/// that are ingested, bypassing the WAL and the memtable.
///
/// Data flows: parsed pairs gather in memory up to `chunkBytes` of keys
/// and values; a full chunk is sorted by key (stably: for a key given
/// twice the later line wins; already-sorted input is not re-sorted),
/// written to one table file in a scratch directory next to the database
/// (same filesystem, so the ingest hard-links it) with the keyspace's
/// options, and ingested with `move` — one ingest per chunk, in input
/// order, so a later chunk's value of a key supersedes an earlier one's.
/// Each ingest is atomic and durable when it returns.
struct IngestLoader {
    let target: Keyspace
    let scratchDirectory: String
    let chunkBytes: Int
    private var keys: [[UInt8]] = []
    private var values: [[UInt8]] = []
    private var bytes = 0
    private var sorted = true
    private var chunks = 0
    /// Records ingested so far.
    private(set) var ingested: UInt64 = 0

    init(target: Keyspace, databasePath: String, chunkBytes: Int) throws {
        self.target = target
        self.chunkBytes = chunkBytes
        scratchDirectory = databasePath + ".load-\(getpid())"
        try FileSystem.createDirectory(scratchDirectory)
    }

    mutating func add(_ key: [UInt8], _ value: [UInt8]) throws {
        if sorted, let last = keys.last, !last.lexicographicallyPrecedes(key) { sorted = false }
        keys.append(key)
        values.append(value)
        bytes += key.count + value.count + 64
        if bytes >= chunkBytes { try flush() }
    }

    /// Writes and ingests what has gathered (nothing when empty).
    mutating func flush() throws {
        guard !keys.isEmpty else { return }
        var order = Array(keys.indices)
        if !sorted {
            // Stable: equal keys keep input order, so the last one wins below.
            order = order.enumerated().sorted { a, b in
                let (x, y) = (keys[a.element], keys[b.element])
                return x == y ? a.offset < b.offset : x.lexicographicallyPrecedes(y)
            }.map(\.element)
        }
        let path = scratchDirectory + "/chunk-\(chunks).sst"
        chunks += 1
        let writer = try TableFileWriter(path: path, for: target)
        var records: UInt64 = 0
        for (n, i) in order.enumerated() {
            // A key given more than once: only its last occurrence.
            if n + 1 < order.count, keys[order[n + 1]] == keys[i] { continue }
            try writer.add(keys[i], values[i])
            records += 1
        }
        try writer.finish()
        try target.ingest([path], options: IngestOptions(move: true))
        ingested += records
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        bytes = 0
        sorted = true
    }

    /// Removes the scratch directory (and any file a failure left in it).
    func cleanUp() {
        try? FileSystem.removeTree(scratchDirectory)
    }
}
