#if canImport(Glibc)
import Glibc
#endif
import RingIO
import RingKV

/// Read-only helpers behind `kvctl`: dump a WAL or a table file, verify
/// every checksum of a database, inspect its levels and logs. Each is a
/// thin wrapper over the engine's own readers (`LogReader`, `WriteBatch`,
/// `TableReader`, `ManifestReplay`, `CurrentFile`), so the tools can never
/// disagree with the engine about a format.
///
/// Functions that take a database path hold its LOCK while they read (a
/// running database would change files under them) and never write to it.
/// Errors are `DBError`, as everywhere in the engine.
public enum DatabaseTools {
    /// The operation kinds of a write batch and a table entry.
    public enum OperationKind: String, Sendable {
        case put = "PUT"
        case delete = "DEL"
        /// A range deletion: a WAL operation or a table's range deletion
        /// block, never a data block entry.
        case deleteRange = "DELRANGE"
        /// A merge operand (format version 6).
        case merge = "MERGE"

        init?(_ type: UInt8) {
            switch type {
            case ValueType.value.rawValue: self = .put
            case ValueType.deletion.rawValue: self = .delete
            case ValueType.merge.rawValue: self = .merge
            default: return nil
            }
        }
    }

    // MARK: - Shared plumbing

    static func makeBackend() -> any IOBackend { IOBackends.makeDefault() }

    /// Takes the LOCK of the existing database at `dbPath` shared, without
    /// waiting, as a read-only open does (`Options.readOnly`): other
    /// readers may hold it too, a writer may not. A missing LOCK file is
    /// created empty (the one thing the tools write), so a writer is kept
    /// out of a directory that had none; nil where it cannot be created (a
    /// read-only filesystem, no write permission). Throws `.databaseNotFound` when
    /// there is no directory or no CURRENT file, `.locked` when a writer
    /// holds it.
    static func lockExisting(dbPath: String) throws -> FileLock? {
        guard FileSystem.isDirectory(dbPath) else {
            if FileSystem.exists(dbPath) { throw DBError.notADirectory(path: dbPath) }
            throw DBError.databaseNotFound(path: dbPath)
        }
        guard FileSystem.exists(FileNames.current(dbPath)) else { throw DBError.databaseNotFound(path: dbPath) }
        return try DatabaseRecovery.takeLock(dbPath, shared: true).0
    }

    /// The files of `dbPath` that RingKV owns, sorted by number.
    static func ownedFiles(dbPath: String) throws -> [(kind: FileKind, number: UInt64, name: String)] {
        let names = try ioCall(dbPath) { () throws(IOError) in try FileSystem.listDirectory(dbPath) }
        return names.compactMap { name in FileNames.parse(name).map { ($0.kind, $0.number, name) } }
            .sorted { $0.number < $1.number }
    }

    /// Opens the table at `path` read-only. The file number comes from the
    /// name when it is `NNNNNN.sst`, else 0 (it only labels cache entries).
    static func openTable(path: String, backend: any IOBackend) throws -> TableReader {
        let number = FileNames.parse(baseName(path)).map(\.number) ?? 0
        let file = try ioCall(path) { () throws(IOError) in try File.open(path, .read) }
        return try TableReader.open(file: file, fileNumber: number, backend: backend)
    }

    /// The last component of `path`.
    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Splits an internal key into user key, sequence and kind; nil when it
    /// is too short to hold the 8-byte trailer.
    static func splitInternalKey(_ ikey: UnsafeRawBufferPointer)
        -> (userKey: [UInt8], sequence: UInt64, type: UInt8)? {
        guard ikey.count >= InternalKey.trailerSize else { return nil }
        let (sequence, type) = InternalKey.unpackTrailer(InternalKey.trailer(ikey))
        return (Array(InternalKey.userKey(ikey)), sequence, type)
    }

    static func splitInternalKey(_ ikey: [UInt8]) -> (userKey: [UInt8], sequence: UInt64, type: UInt8)? {
        ikey.withUnsafeBytes { splitInternalKey($0) }
    }
}
