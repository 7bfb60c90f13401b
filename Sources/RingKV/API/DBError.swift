@_exported import struct RingIO.Errno
@_exported import struct RingIO.IOError
@_exported import enum RingIO.IOPath

/// The one error type of the RingKV API. Each case says what failed and
/// where, as data to match on: the file, the offset, the errno, the limit,
/// the key. Nothing from disk or from a caller crashes the process; it
/// arrives here instead. `IOError`, its `Errno` and `IOPath` come with
/// `import RingKV`.
///
///     do { try db.put("user:1", json) } catch DBError.readOnly(let why) { … }
///     catch let error as DBError where error.isNoSpace { … }
public enum DBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call or io_uring operation failed: `IOError` names the
    /// operation, the file, the offset, the path it took (`ioPath`) and the
    /// errno (`code`, e.g. `.noSpace`).
    case io(IOError)
    /// Stored data failed a checksum or does not parse: the file, the
    /// offset of the damage, and what is wrong there.
    case corruption(path: String, offset: UInt64, reason: String)
    /// A key, value or write batch is larger than the engine takes: which
    /// limit (`SizeLimit.maxBytes` is the limit) and the size given.
    case tooLarge(SizeLimit, sizeBytes: Int)
    /// A `deleteRange` whose end comes before its start (the end is
    /// exclusive; an empty range is `from == to`).
    case invalidRange(from: [UInt8], to: [UInt8])
    /// An `Options` value the engine cannot work with: the option's name,
    /// the value given and what is allowed. Nothing was written.
    case invalidOption(name: String, value: String, allowed: String)
    /// A path that must be a directory is something else (the database
    /// path, the parent of a checkpoint's directory, a backup directory
    /// or its `meta/`).
    case notADirectory(path: String)
    /// No database at `path` (no directory, or no CURRENT file in it) and
    /// `createIfMissing` is false. A missing *key* is not an error: `get`
    /// returns nil.
    case databaseNotFound(path: String)
    /// Something exists where it must not: the database, with
    /// `errorIfExists`, or a checkpoint's target directory.
    case alreadyExists(path: String)
    /// Another process (or another open `DB`) holds the LOCK file.
    case locked(path: String)
    /// The `DB` was closed (or is closing).
    case closed
    /// The database refuses writes; reads keep working. The reason says
    /// whether it was opened read-only or a log or MANIFEST write failed
    /// (then until it is reopened), with that failure.
    case readOnly(ReadOnlyReason)
    /// The engine caught itself about to break one of its own invariants
    /// (a version edit that does not apply to the current version) and
    /// wrote nothing. A bug in RingKV, reported instead of a crash.
    case internalError(String)
    /// No keyspace of this name exists (`DB.existingKeyspace`,
    /// `DB.dropKeyspace`), or a handle of another database was used. Reads
    /// never create a keyspace.
    case unknownKeyspace(name: String)
    /// The keyspace behind this handle was dropped (`DB.dropKeyspace`):
    /// every later call through the handle, or a write batch holding an
    /// operation for it, fails; nothing was written. (Iterators made
    /// before the drop keep reading what they saw.)
    case keyspaceDropped(name: String)
    /// A keyspace name that is empty, longer than 255 bytes, not valid
    /// UTF-8 or holds NUL (`name` renders bad bytes as \xNN); `reason`
    /// says which.
    case invalidKeyspaceName(name: String, reason: String)
    /// `DB.dropKeyspace("default")`: the default keyspace always exists.
    case cannotDropDefaultKeyspace
    /// An API was used against its contract (say, a second `next()` on an
    /// async iterator while one runs); nothing was read or written.
    case misuse(String)
    /// A table file that `TableFileWriter` or `DB.ingest` refuses: keys not
    /// strictly increasing, written for other options, overlapping another
    /// file of the same ingest, or not a file `TableFileWriter` writes
    /// (`reason` says which). Nothing was ingested.
    case tableFileRefused(path: String, reason: String)
    /// An argument the operation cannot take (a merge without
    /// `Options.mergeOperator`, an operand the operator refuses); nothing
    /// was written.
    case invalidArgument(String)
    /// A read met a stored merge operand of `key` but the database was
    /// opened without `Options.mergeOperator`: no value is guessed. Open it
    /// with the operator that wrote the operands.
    case mergeOperatorMissing(key: [UInt8])
    /// The merge operator failed (`MergeOperator.fullMerge` threw) while
    /// combining `key`'s operands; nothing stored changed.
    case mergeFailed(key: [UInt8], reason: String)
    /// A transaction's commit found that a key it read or wrote (`key`, in
    /// whichever keyspace) was committed by another writer after its
    /// snapshot (docs/TRANSACTIONS.md); nothing of the transaction was
    /// written. Run it again (`DB.transaction(maxAttempts:_:)` does).
    case conflict(key: [UInt8])
    /// A transaction was used after `commit()` or `rollback()` (`state`
    /// says which); nothing was read or written.
    case transactionClosed(state: String)
    /// `DB.changes(since:)` was asked for changes the database no longer
    /// keeps: the WAL holding the sequence after `since` was deleted
    /// (`Options.changeRetentionBytes`). `oldest` is the smallest `since`
    /// that can still be served; a replica further behind must bootstrap
    /// again from a checkpoint or backup (docs/REPLICATION.md).
    case changesUnavailable(oldest: UInt64)
    /// `replica.apply(_:)` of a batch that is not the next one: its first
    /// sequence is `got`, the replica expects `expected`
    /// (`latestSequence + 1`). Nothing was applied.
    case outOfOrder(expected: UInt64, got: UInt64)
    /// The backup directory at `path` holds no backup `id` (no meta file
    /// `meta/<id>`; docs/REPLICATION.md §Backups).
    case backupNotFound(path: String, id: UInt64)
    /// A file of a backup is missing, has another size or fails its
    /// checksum, or a backup's meta file does not parse: the file and what
    /// is wrong with it. Verify and restore refuse such a backup; the
    /// database and the other backups are untouched.
    case backupCorrupted(path: String, reason: String)

    /// Which size limit a `.tooLarge` error hit.
    public enum SizeLimit: Sendable, Equatable {
        /// `Options.maxKeySizeBytes`.
        case key
        /// `Options.maxValueSizeBytes`.
        case value
        /// `Options.maxBatchSizeBytes` (a write batch, encoded).
        case batch

        /// The limit in bytes.
        public var maxBytes: Int {
            switch self {
            case .key: return Options.maxKeySizeBytes
            case .value: return Options.maxValueSizeBytes
            case .batch: return Options.maxBatchSizeBytes
            }
        }
    }

    /// Why a database refuses writes (`DBError.readOnly`).
    public enum ReadOnlyReason: Sendable, Equatable, CustomStringConvertible {
        /// Opened with `Options.readOnly`.
        case openedReadOnly
        /// A write or fsync of the log failed (this error); no fsync is
        /// retried, so nothing is written until the database is reopened.
        indirect case logFailed(DBError)
        /// A write or fsync of the MANIFEST failed (this error); no further
        /// edit is logged until the database is reopened.
        case manifestFailed(IOError)
        /// Opened with `Options.replica`: it takes only `apply(_:)` of the
        /// primary's change feed.
        case replica

        public var description: String {
            switch self {
            case .openedReadOnly:
                return "opened with Options.readOnly; writes, flush and compactRange are refused"
            case .logFailed(let error): return "a log write failed earlier: \(error)"
            case .manifestFailed(let error): return "an earlier MANIFEST write failed: \(error)"
            case .replica: return "opened with Options.replica; only apply(_:) of the primary's changes writes"
            }
        }
    }

    /// A one-line message naming what failed, where and why.
    public var description: String {
        switch self {
        case .io(let e): return e.description
        case .corruption(let path, let offset, let reason): return "corruption in \(path) at offset \(offset): \(reason)"
        case .tooLarge(let limit, let size):
            let what: String
            switch limit {
            case .key: what = "key of \(size) bytes"
            case .value: what = "value of \(size) bytes"
            case .batch: what = "write batch of \(size) encoded bytes"
            }
            return "\(what) exceeds the \(limit.maxBytes)-byte limit" + (limit == .batch ? "; split it" : "")
        case .invalidRange(let from, let to):
            return "range from \(FileMetaData.render(from)) to \(FileMetaData.render(to)): the end comes "
                + "before the start (the end is exclusive; an empty range is from == to)"
        case .invalidOption(let name, let value, let allowed):
            return "invalid option: Options.\(name) must be \(allowed); got \(value)"
        case .notADirectory(let path): return "not a directory: \(path)"
        case .databaseNotFound(let path): return "database not found: \(path) (set createIfMissing to create it)"
        case .alreadyExists(let path): return "already exists: \(path)"
        case .locked(let path): return "database is locked: \(path) is held by another process or DB handle"
        case .closed: return "database is closed"
        case .readOnly(let reason): return "database is read-only: \(reason)"
        case .internalError(let reason): return "internal error (a RingKV bug; nothing was written): \(reason)"
        case .misuse(let reason): return "misuse: \(reason)"
        case .unknownKeyspace(let name): return "unknown keyspace \"\(name)\" (DB.keyspace(_:) creates one)"
        case .keyspaceDropped(let name): return "keyspace \"\(name)\" was dropped"
        case .invalidKeyspaceName(let name, let reason): return "invalid keyspace name \"\(name)\": \(reason)"
        case .cannotDropDefaultKeyspace: return "the default keyspace cannot be dropped"
        case .tableFileRefused(let path, let reason): return "table file \(path) refused: \(reason)"
        case .invalidArgument(let reason): return "invalid argument: \(reason)"
        case .mergeOperatorMissing(let key):
            return "key \(FileMetaData.render(key)) holds merge operands but Options.mergeOperator is not set"
        case .mergeFailed(let key, let reason): return "merge of key \(FileMetaData.render(key)) failed: \(reason)"
        case .conflict(let key):
            return "transaction conflict on key \(KeyspaceName.render(key)): another writer committed it after the "
                + "transaction's snapshot; nothing was written (retry the transaction)"
        case .transactionClosed(let state): return "transaction used after it was \(state)"
        case .changesUnavailable(let oldest):
            return "changes are no longer kept: the oldest `since` still served is \(oldest) "
                + "(raise Options.changeRetentionBytes, or bootstrap the replica again)"
        case .backupNotFound(let path, let id): return "no backup \(id) in \(path)"
        case .backupCorrupted(let path, let reason): return "backup damaged: \(path): \(reason)"
        case .outOfOrder(let expected, let got):
            return "apply out of order: the replica expects sequence \(expected), the batch starts at \(got)"
        }
    }

    /// True when the failure was a full disk or quota, also behind a
    /// refusal that followed it (`.readOnly(.logFailed(.io(…)))`).
    public var isNoSpace: Bool {
        switch self {
        case .io(let e): return e.isNoSpace
        case .readOnly(.logFailed(let cause)): return cause.isNoSpace
        case .readOnly(.manifestFailed(let e)): return e.isNoSpace
        default: return false
        }
    }

    /// A write refused for one of its keyspaces (dropped, or not of this
    /// database): nothing of it was written.
    var refusesKeyspace: Bool {
        switch self {
        case .keyspaceDropped, .unknownKeyspace: return true
        default: return false
        }
    }

    /// The error a write gets once the log failed with `failure`.
    static func refusingWrites(after failure: DBError) -> DBError {
        if case .readOnly = failure { return failure }
        return .readOnly(.logFailed(failure))
    }
}
