import RingIO
import RingKV

/// A read-only picture of a closed database: what the live MANIFEST says
/// (levels, tables, counters), each table's properties, and what the WAL
/// files hold that no table holds yet.
public struct DatabaseSummary: Sendable {
    public struct Table: Sendable {
        public var level: Int
        public var number: UInt64
        /// The table's file name inside the database directory (NNNNNN.sst).
        public var fileName: String
        public var fileSizeBytes: UInt64
        public var entryCount: UInt64
        public var deletionCount: UInt64
        public var dataBlockCount: UInt64
        public var smallestKey: [UInt8]
        public var largestKey: [UInt8]
        public var smallestSequence: UInt64
        public var largestSequence: UInt64
    }

    public struct Level: Sendable {
        public var level: Int
        public var files: Int
        public var bytes: UInt64
        public var entries: UInt64
    }

    public struct WALFile: Sendable {
        public var number: UInt64
        /// The log's file name inside the database directory (NNNNNN.log).
        public var fileName: String
        public var fileSizeBytes: UInt64
        /// Bytes of valid records (the rest is preallocated zeros or a torn tail).
        public var validBytes: UInt64
        public var records: Int
        public var operations: Int
        /// Set when reading stopped early (torn tail or damage).
        public var stop: LogStop?
    }

    public var path: String
    public var manifestName: String
    public var manifestRecords: Int
    /// WAL files numbered below this are obsolete.
    public var logNumber: UInt64
    public var nextFileNumber: UInt64
    /// The larger of the MANIFEST's last sequence and the WALs' newest operation.
    public var lastSequence: UInt64
    /// Level by level, in the order a lookup searches them.
    public var tables: [Table]
    public var wals: [WALFile]

    /// Per-level totals for levels 0 ..< 7, empty ones included.
    public var levels: [Level] {
        (0..<Version.numLevels).map { level in
            let inLevel = tables.filter { $0.level == level }
            return Level(level: level, files: inLevel.count,
                         bytes: DatabaseSummary.saturatingSum(inLevel.map(\.fileSizeBytes)),
                         entries: DatabaseSummary.saturatingSum(inLevel.map(\.entryCount)))
        }
    }

    /// The sum of counts read from disk (MANIFEST sizes, table
    /// properties), UInt64.max when it overflows: a damaged or crafted
    /// count must not trap a report.
    public static func saturatingSum(_ values: [UInt64]) -> UInt64 {
        var total: UInt64 = 0
        for value in values {
            let (sum, overflow) = total.addingReportingOverflow(value)
            if overflow { return .max }
            total = sum
        }
        return total
    }
}

extension DatabaseTools {
    /// Reads CURRENT, replays the MANIFEST, opens every table for its
    /// properties and reads the live WAL files, holding the LOCK and writing
    /// nothing (opening a `DB` would replay and rewrite). Throws on the first
    /// problem; `verify` is the tool that lists every one.
    public static func inspect(dbPath: String) throws -> DatabaseSummary {
        let lock = try lockExisting(dbPath: dbPath)
        defer { lock?.release() }
        let backend = makeBackend()
        let (name, _) = try CurrentFile.read(dbPath: dbPath, backend: backend)
        let manifestPath = dbPath + "/" + name
        guard FileSystem.exists(manifestPath) else {
            throw DBError.corruption(path: FileNames.current(dbPath), offset: 0, reason: "names \(name), which does not exist")
        }
        let replayed = try ManifestReplay.run(path: manifestPath, backend: backend, strict: true)

        var tables: [DatabaseSummary.Table] = []
        for (level, files) in replayed.version.files.enumerated() {
            for f in files {
                let path = FileNames.table(dbPath, f.number)
                let reader = try openTable(path: path, backend: backend)
                let p = reader.properties
                tables.append(.init(level: level, number: f.number, fileName: baseName(path),
                                    fileSizeBytes: f.fileSizeBytes,
                                    entryCount: p.entryCount, deletionCount: p.deletionCount,
                                    dataBlockCount: p.dataBlockCount, smallestKey: f.smallestUserKey,
                                    largestKey: f.largestUserKey, smallestSequence: f.smallestSequence,
                                    largestSequence: f.largestSequence))
            }
        }

        var wals: [DatabaseSummary.WALFile] = []
        var lastSequence = replayed.lastSequence
        for file in try ownedFiles(dbPath: dbPath) where file.kind == .log && file.number >= replayed.logNumber {
            let dump = try dumpWAL(path: FileNames.log(dbPath, file.number))
            if let last = dump.records.last?.operations.last { lastSequence = max(lastSequence, last.sequence) }
            wals.append(.init(number: file.number, fileName: file.name, fileSizeBytes: dump.fileSizeBytes, validBytes: dump.validBytes,
                              records: dump.records.count, operations: dump.operationCount, stop: dump.stop))
        }
        return DatabaseSummary(path: dbPath, manifestName: name, manifestRecords: replayed.recordCount,
                               logNumber: replayed.logNumber, nextFileNumber: replayed.nextFileNumber,
                               lastSequence: lastSequence, tables: tables, wals: wals)
    }
}
