/// Keyspaces of a database (docs/KEYSPACES.md): named, independent key
/// spaces sharing one WAL, so a `WriteBatch` is atomic across them.
extension DB {
    /// The keyspace called `name`, created when missing (a synced MANIFEST
    /// edit before this returns). "default" is the one the DB's own
    /// methods use. With `options`, they are stored with the keyspace —
    /// for an existing one, when they differ from what it has — and used
    /// on every later open; nil keeps what it has (a new keyspace follows
    /// the database's `Options`).
    ///
    /// Throws `DBError.invalidKeyspaceName` for a name that is empty, over
    /// 255 bytes or holds NUL, `.invalidOption` for bad options,
    /// `.readOnly` when a keyspace would be created or changed in a
    /// database that takes no writes.
    public func keyspace(_ name: String, options: KeyspaceOptions? = nil) throws(DBError) -> Keyspace {
        Keyspace(db: self, data: try impl.openKeyspace(name, options: options, create: true))
    }

    /// `keyspace(_:options:)` for a name given as bytes (from a file or the
    /// network): bytes that are not valid UTF-8 throw
    /// `DBError.invalidKeyspaceName`.
    public func keyspace(nameBytes: [UInt8], options: KeyspaceOptions? = nil) throws(DBError) -> Keyspace {
        try keyspace(try KeyspaceName.validated(nameBytes), options: options)
    }

    /// The keyspace called `name` if it exists; never creates one
    /// (`DBError.unknownKeyspace` otherwise).
    public func existingKeyspace(_ name: String) throws(DBError) -> Keyspace {
        Keyspace(db: self, data: try impl.openKeyspace(name, options: nil, create: false))
    }

    /// The names of the live keyspaces: "default" first, then the others
    /// in the order they were created.
    public func keyspaceNames() -> [String] { impl.keyspaceNames() }

    /// Drops the keyspace called `name` (a synced MANIFEST edit before
    /// this returns): its data is gone for every later read, its handles
    /// throw `DBError.keyspaceDropped`, and its tables are deleted once no
    /// iterator made before still reads them. Throws
    /// `.cannotDropDefaultKeyspace` for "default", `.unknownKeyspace` when
    /// there is no such keyspace. A keyspace created again under the name
    /// is a new, empty one.
    public func dropKeyspace(_ name: String) throws(DBError) {
        try impl.dropKeyspace(name)
    }

    /// Drops the keyspace of `keyspace` (see `dropKeyspace(_:)`).
    public func dropKeyspace(_ keyspace: Keyspace) throws(DBError) {
        guard keyspace.db === self else { throw DBError.unknownKeyspace(name: keyspace.name) }
        try impl.dropKeyspace(keyspace.data)
    }

    // MARK: - Async

    /// `keyspace(_:options:)` that never blocks the task's thread: an
    /// existing keyspace returns at once; a create (or options change),
    /// whose MANIFEST edit is synced, runs on a thread of its own while
    /// the task suspends (as `flush()` does).
    public func keyspace(_ name: String, options: KeyspaceOptions? = nil) async throws -> Keyspace {
        let impl = self.impl
        let data = try await impl.openKeyspaceAsync(name, options: options)
        return Keyspace(db: self, data: data)
    }

    /// `dropKeyspace(_:)` on a thread of its own; the task suspends until
    /// the drop is durable.
    public func dropKeyspace(_ name: String) async throws {
        let impl = self.impl
        try await ThreadOffload.run { try impl.dropKeyspace(name) }
    }
}

extension DBImpl {
    /// `openKeyspace(create: true)` without blocking: the lookup runs here,
    /// a create on a thread of its own.
    func openKeyspaceAsync(_ name: String, options: KeyspaceOptions?) async throws -> KeyspaceData {
        let name = try KeyspaceName.validated(name)
        if let existing = try liveKeyspace(name, options: options) { return existing }
        return try await ThreadOffload.run { [self] in try openKeyspace(name, options: options, create: true) }
    }
}
