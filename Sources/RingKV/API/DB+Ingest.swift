/// Bulk loading (docs/INGEST.md): table files written by `TableFileWriter`
/// become part of a keyspace at once, without the WAL or the memtable.
public struct IngestOptions: Sendable, Equatable {
    /// Remove the source files once they are ingested (they are hard
    /// links by then, or copies across filesystems). Without it the
    /// sources stay; a hard-linked source shares its data with the
    /// database's table, so it must not be modified afterwards.
    public var move: Bool

    public init(move: Bool = false) {
        self.move = move
    }
}

extension DB {
    /// Adds the table files at `paths` (written by `TableFileWriter` with
    /// this keyspace's options) to the default keyspace, atomically: after
    /// a crash at any moment all of them are in, or none.
    ///
    /// Every file is read whole and checked first (checksums, keys
    /// strictly increasing, the keyspace's prefix length); the files must
    /// not overlap each other. A refusal throws `.tableFileRefused` or
    /// `.corruption` and changes nothing. When the memtable holds keys in
    /// the files' ranges it is flushed first. The files' entries take one
    /// new sequence number above every write before: they supersede
    /// earlier values of their keys, and a snapshot taken before does not
    /// see them. Each file goes to the deepest level where it and the
    /// levels above overlap nothing. Writes wait while the edit is logged.
    public func ingest(_ paths: [String], options: IngestOptions = IngestOptions()) throws(DBError) {
        try impl.ingest(paths, into: impl.defaultKeyspace, move: options.move)
    }

    /// `ingest(_:options:)` into `keyspace`.
    public func ingest(_ paths: [String], into keyspace: Keyspace,
                       options: IngestOptions = IngestOptions()) throws(DBError) {
        guard keyspace.db === self else { throw DBError.unknownKeyspace(name: keyspace.name) }
        try impl.ingest(paths, into: keyspace.data, move: options.move)
    }

    /// `ingest(_:options:)` on a thread of its own (it reads every file and
    /// syncs); the task suspends until the files are in.
    public func ingest(_ paths: [String], options: IngestOptions = IngestOptions()) async throws {
        let impl = self.impl
        try await ThreadOffload.run { try impl.ingest(paths, into: impl.defaultKeyspace, move: options.move) }
    }

    /// `ingest(_:into:options:)` on a thread of its own.
    public func ingest(_ paths: [String], into keyspace: Keyspace, options: IngestOptions = IngestOptions()) async throws {
        guard keyspace.db === self else { throw DBError.unknownKeyspace(name: keyspace.name) }
        let (impl, data) = (self.impl, keyspace.data)
        try await ThreadOffload.run { try impl.ingest(paths, into: data, move: options.move) }
    }
}

extension Keyspace {
    /// `DB.ingest(_:into:options:)` into this keyspace.
    public func ingest(_ paths: [String], options: IngestOptions = IngestOptions()) throws(DBError) {
        try impl.ingest(paths, into: data, move: options.move)
    }

    /// `ingest(_:options:)` on a thread of its own.
    public func ingest(_ paths: [String], options: IngestOptions = IngestOptions()) async throws {
        let (impl, data) = (self.impl, self.data)
        try await ThreadOffload.run { try impl.ingest(paths, into: data, move: options.move) }
    }
}
