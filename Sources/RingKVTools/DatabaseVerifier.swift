import RingIO
import RingKV

/// The outcome of `DatabaseTools.verify`: what was read, what is damaged.
public struct VerifyReport: Sendable {
    public struct CheckedFile: Sendable {
        public var path: String
        /// "CURRENT", "MANIFEST", "table" or "WAL".
        public var kind: String
        /// What was checked, e.g. "12 data blocks, 4000 entries".
        public var detail: String
    }

    public struct Problem: Sendable, CustomStringConvertible {
        public var path: String
        /// nil when the problem has no position (a missing file, an I/O error).
        public var offset: UInt64?
        public var reason: String
        /// true: stored data is damaged or missing. false: the file could
        /// not be read (permissions, I/O error).
        public var isCorruption: Bool
        /// Bytes recovery drops (a torn WAL or MANIFEST tail the next open
        /// will drop) or dropped (a file under lost/): what a power loss
        /// leaves, not necessarily media damage — but data the database
        /// does not hold. Counted as corruption.
        public var isDropped = false

        public var description: String {
            path + (offset.map { " at offset \($0)" } ?? "") + ": " + reason
        }
    }

    public var dbPath: String
    public var checked: [CheckedFile] = []
    public var problems: [Problem] = []
    /// Facts worth knowing that are not damage: a torn WAL tail (a crash
    /// mid-append, which the next open drops into lost/), files the next
    /// open deletes.
    public var notes: [String] = []

    public var isClean: Bool { problems.isEmpty }
    public var hasCorruption: Bool { problems.contains { $0.isCorruption } }

    mutating func record(_ error: any Error, path: String) {
        switch error as? DBError {
        case .corruption(let at, let offset, let reason):
            problems.append(Problem(path: at, offset: offset, reason: reason, isCorruption: true))
        case .io(let e):
            problems.append(Problem(path: e.path ?? path, offset: e.offset, reason: e.description, isCorruption: false))
        default:
            problems.append(Problem(path: path, offset: nil, reason: "\(error)", isCorruption: false))
        }
    }
}

/// "1 record", "2 records".
private func plural(_ n: UInt64, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
}

extension DatabaseTools {
    /// Checks every checksum of the database at `dbPath` without changing
    /// it: CURRENT, every record of the live MANIFEST (replayed with full
    /// validation), every block of every table (`TableReader.verifyChecksums`:
    /// CRCs, entry framing, key order, entry count) and every record of the
    /// WAL files recovery would replay. Bytes an earlier recovery dropped
    /// and kept under `lost/` are reported as damage too: the database no
    /// longer holds them. Damage is collected per file in the report; this
    /// throws only when verification cannot start (no database, locked,
    /// unreadable directory).
    public static func verify(dbPath: String) throws -> VerifyReport {
        let lock = try lockExisting(dbPath: dbPath)
        defer { lock?.release() }
        let backend = makeBackend()
        var report = VerifyReport(dbPath: dbPath)
        let files = try ownedFiles(dbPath: dbPath)

        // CURRENT and the MANIFEST it names.
        var replayed: ManifestReplay.Result?
        let currentPath = FileNames.current(dbPath)
        do {
            let (name, _) = try CurrentFile.read(dbPath: dbPath, backend: backend)
            report.checked.append(.init(path: currentPath, kind: "CURRENT", detail: "names \(name)"))
            let manifestPath = dbPath + "/" + name
            do {
                guard FileSystem.exists(manifestPath) else {
                    throw DBError.corruption(path: currentPath, offset: 0, reason: "names \(name), which does not exist")
                }
                let result = try ManifestReplay.run(path: manifestPath, backend: backend, strict: true)
                replayed = result
                report.checked.append(.init(path: manifestPath, kind: "MANIFEST", detail: plural(UInt64(result.recordCount), "record")))
                if let dropped = result.droppedTail, dropped.byteCount > 0 {
                    report.problems.append(.init(path: manifestPath, offset: dropped.offset, reason:
                        "torn tail (\(dropped.reason)): \(plural(dropped.byteCount, "byte")) of an interrupted append "
                        + "that the next open drops into lost/", isCorruption: true, isDropped: true))
                }
            } catch {
                report.record(error, path: manifestPath)
            }
        } catch {
            report.record(error, path: currentPath)
        }

        // Tables: those the MANIFEST references must exist and match their
        // recorded size; every table on disk is read block by block.
        var referenced: [UInt64: (level: Int, sizeBytes: UInt64)] = [:]
        if let version = replayed?.version {
            for (level, files) in version.files.enumerated() {
                for f in files { referenced[f.number] = (level, f.fileSizeBytes) }
            }
        }
        let tablesOnDisk = Set(files.filter { $0.kind == .table }.map(\.number))
        for number in referenced.keys.sorted() where !tablesOnDisk.contains(number) {
            let level = referenced[number]?.level ?? 0
            report.problems.append(.init(path: FileNames.table(dbPath, number), offset: nil,
                                         reason: "missing: the MANIFEST lists this table at L\(level)", isCorruption: true))
        }
        for file in files where file.kind == .table {
            let path = FileNames.table(dbPath, file.number)
            let meta = referenced[file.number]
            let isLive = meta != nil || replayed == nil
            var tableReport = VerifyReport(dbPath: dbPath)
            do {
                let reader = try openTable(path: path, backend: backend)
                if let meta, meta.sizeBytes != reader.fileSizeBytes {
                    throw DBError.corruption(path: path, offset: reader.fileSizeBytes, reason:
                        "file is \(reader.fileSizeBytes) bytes, the MANIFEST recorded \(meta.sizeBytes)")
                }
                try reader.verifyChecksums()
                let placement = meta.map { "L\($0.level)" } ?? "not in the MANIFEST"
                report.checked.append(.init(path: path, kind: "table", detail:
                    "\(placement), \(plural(reader.properties.dataBlockCount, "data block")), "
                    + plural(reader.properties.entryCount, "entry", "entries")))
            } catch {
                tableReport.record(error, path: path)
            }
            if isLive {
                report.problems += tableReport.problems
            } else {
                report.notes.append("\(path) is not referenced by the MANIFEST; the next open deletes it")
                report.notes += tableReport.problems.map { "unreferenced table: \($0)" }
            }
        }

        // WAL files recovery would replay (older ones are obsolete).
        var liveLogs: [(path: String, dump: WALDump)] = []
        for file in files where file.kind == .log {
            let path = FileNames.log(dbPath, file.number)
            if let replayed, file.number < replayed.logNumber {
                report.notes.append("\(path) is older than the MANIFEST's log number \(replayed.logNumber); "
                                    + "the next open deletes it")
                continue
            }
            do {
                let dump = try dumpWAL(path: path)
                report.checked.append(.init(path: path, kind: "WAL",
                                            detail: plural(UInt64(dump.records.count), "record") + ", "
                                                + plural(UInt64(dump.operationCount), "operation")))
                liveLogs.append((path, dump))
            } catch {
                report.record(error, path: path)
            }
        }
        for (index, log) in liveLogs.enumerated() {
            guard let stop = log.dump.stop else { continue }
            // A log is fdatasynced before the next one is written: a later
            // log with records proves this one was complete on disk.
            let later = liveLogs[(index + 1)...].first { !$0.dump.records.isEmpty || !$0.dump.syncPoints.isEmpty }
            if stop.isTornTail && later == nil {
                report.problems.append(.init(path: log.path, offset: stop.offset, reason:
                    "torn tail (\(stop.reason)): \(plural(stop.droppedBytes, "byte")) nothing proves were synced, "
                    + "which the next open drops into lost/", isCorruption: true, isDropped: true))
            } else {
                let reason = later.map { stop.reason + "; \(baseName($0.path)) holds records written after this log was synced" }
                report.problems.append(.init(path: log.path, offset: stop.offset, reason: reason ?? stop.reason,
                                             isCorruption: true))
            }
        }

        // Bytes earlier opens dropped: still damage, kept for an operator.
        for lost in LostFiles.list(dbPath: dbPath) {
            let path = LostFiles.directory(dbPath) + "/" + lost.name
            let origin = LostFiles.parse(lost.name).map { "\($0.source) at offset \($0.offset)" } ?? "an unknown file"
            report.problems.append(.init(path: path, offset: nil, reason:
                "\(plural(lost.sizeBytes, "byte")) that recovery dropped from \(origin) (a torn or damaged tail); "
                + "the database no longer holds them. Inspect them, then delete the file", isCorruption: true,
                isDropped: true))
        }
        return report
    }
}
