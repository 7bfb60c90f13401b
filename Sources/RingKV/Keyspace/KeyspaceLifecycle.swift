/// Opening, creating and dropping keyspaces (docs/KEYSPACES.md §Lifecycle).
///
/// A create or drop goes through the writer queue as a request its own
/// leader carries out (`KeyspaceControl`): no write group is in flight
/// meanwhile, the WAL cannot roll, and every write queued before it has
/// committed. The leader first syncs the WAL's unsynced tail (so the
/// MANIFEST edit, durable when the call returns, never survives a power
/// loss that takes earlier writes with it: the history stays a prefix),
/// then logs the edit with `mu` released, then updates the registry.
///
/// - Create: a new id (`maxKeyspaceId + 1`, never reused), a create
///   record with the options, and the keyspace's log number = the current
///   WAL (older logs hold nothing of it).
/// - Drop: admission marks the keyspace `dropping` under `mu`, so no write
///   queued after the drop is admitted; the edit drops it; its memtables
///   are let go and its tables become obsolete once no reader's version
///   holds them (the normal sweep).
extension DBImpl {
    /// The live keyspace `name` (already validated) when no MANIFEST record
    /// is needed to hand it out: it exists, is not being dropped, and
    /// `options` are nil or its stored ones. Validates `options`.
    func liveKeyspace(_ name: String, options: KeyspaceOptions?) throws(DBError) -> KeyspaceData? {
        try options?.validate()
        return try mu.withLock { () throws(DBError) -> KeyspaceData? in
            try checkOpenLocked()
            guard let keyspace = keyspacesByName[name], !keyspace.dropping else { return nil }
            return options == nil || options == keyspace.storedOptions ? keyspace : nil
        }
    }

    /// The keyspace called `name`, created when missing and `create` is
    /// set (`DBError.unknownKeyspace` otherwise). With `options`, they are
    /// stored (an existing keyspace's when they differ from its stored ones).
    func openKeyspace(_ name: String, options: KeyspaceOptions?, create: Bool) throws(DBError) -> KeyspaceData {
        let name = try KeyspaceName.validated(name)
        if let existing = try liveKeyspace(name, options: options) { return existing }
        if !create && options == nil { throw DBError.unknownKeyspace(name: name) }
        try checkWritable()
        let control = KeyspaceControl(.create(name: name, options: options))
        try pipeline.commit(.control(control), sync: false, in: self)
        guard let opened = control.result else {
            throw DBError.internalError("keyspace create of \"\(name)\" returned no keyspace")
        }
        if !create && opened.storedOptions != options { throw DBError.unknownKeyspace(name: name) }
        return opened
    }

    /// Drops the keyspace called `name`.
    func dropKeyspace(_ name: String) throws(DBError) {
        let name = try KeyspaceName.validated(name)
        if name == KeyspaceName.defaultName { throw DBError.cannotDropDefaultKeyspace }
        try checkWritable()
        let keyspace = try mu.withLock { () throws(DBError) -> KeyspaceData in
            try checkOpenLocked()
            guard let keyspace = keyspacesByName[name], !keyspace.dropping else {
                throw DBError.unknownKeyspace(name: name)
            }
            return keyspace
        }
        try dropKeyspace(keyspace)
    }

    /// Drops `keyspace` (a handle's).
    func dropKeyspace(_ keyspace: KeyspaceData) throws(DBError) {
        if keyspace.id == 0 { throw DBError.cannotDropDefaultKeyspace }
        try checkWritable()
        try pipeline.commit(.control(KeyspaceControl(.drop(keyspace))), sync: false, in: self)
        // Its tables go now, unless a reader's version still holds them.
        deleteObsoleteFiles()
    }

    /// The names of the live keyspaces, "default" first, then by id.
    func keyspaceNames() -> [String] {
        mu.withLock { keyspaceList.map(\.name) }
    }

    // MARK: - The leader's side

    /// Admission of a create or drop request. Caller holds `mu`.
    func admitKeyspaceControlLocked(_ control: KeyspaceControl) throws(DBError) {
        mu.assertHeld()
        if case .ingest(let job) = control.request,
           let failure = job.keyspace.unavailableLocked(in: self, forWrite: true) {
            throw failure
        }
        guard case .drop(let keyspace) = control.request else { return }
        if let failure = keyspace.unavailableLocked(in: self, forWrite: true) { throw failure }
        if keyspace.id == 0 { throw DBError.cannotDropDefaultKeyspace }
        // From here on no write for it is admitted; those queued before
        // commit before the drop runs.
        keyspace.dropping = true
        // A leader stalled on this keyspace (its L0, its flush) stops
        // waiting for it (`makeRoomForWriteLocked`) and lets the drop run.
        wakeAllLocked()
    }

    /// Carries out a create or drop as the leader. Caller holds `mu`; it
    /// is released while the WAL syncs and the edit is logged.
    func runKeyspaceControlLocked(_ control: KeyspaceControl) throws(DBError) {
        mu.assertHeld()
        switch control.request {
        case .create(let name, let options):
            control.result = try createKeyspaceLocked(name, options: options)
        case .drop(let keyspace):
            do {
                try dropKeyspaceLocked(keyspace)
            } catch {
                keyspace.dropping = false
                throw error
            }
        case .ingest(let job):
            try commitIngestLocked(job)
        }
    }

    private func createKeyspaceLocked(_ name: String, options: KeyspaceOptions?) throws(DBError) -> KeyspaceData {
        mu.assertHeld()
        if let existing = keyspacesByName[name] {
            // Created meanwhile (or asked for again): it stands, with the
            // options asked for.
            guard let options, options != existing.storedOptions else { return existing }
            try TTLPolicy.checkChange(from: existing.storedOptions, to: options, keyspace: name)
            var edit = VersionEdit()
            edit.createdKeyspaces = [.init(id: existing.id, name: name, options: options)]
            try logAndApplyLocked(edit)
            existing.storedOptions = options
            existing.options = options.applied(to: self.options)
            return existing
        }
        let maxId = versions.maxKeyspaceId
        guard maxId < UInt32.max else {
            throw DBError.invalidKeyspaceName(name: name, reason: "every keyspace id has been used")
        }
        let id = maxId + 1
        let stored = options ?? KeyspaceOptions()
        var edit = VersionEdit()
        edit.createdKeyspaces = [.init(id: id, name: name, options: stored)]
        edit.maxKeyspaceId = id
        // Syncing may fail; the WAL number is read after it, with no
        // group in flight and no switch possible (this thread leads).
        if wal.hasUnsyncedWrites { try syncLogLocked() }
        edit.keyspaceLogNumbers = [(id, wal.number)]
        try logAndApplyLocked(edit)
        let keyspace = KeyspaceData(id: id, name: name, owner: identity.id, storedOptions: stored, base: self.options)
        keyspaces[id] = keyspace
        keyspacesByName[name] = keyspace
        keyspaceList.append(keyspace)
        events.keyspaceCreated(name: name, id: id)
        return keyspace
    }

    private func dropKeyspaceLocked(_ keyspace: KeyspaceData) throws(DBError) {
        mu.assertHeld()
        if wal.hasUnsyncedWrites { try syncLogLocked() }
        var edit = VersionEdit()
        edit.droppedKeyspaces = [keyspace.id]
        try logAndApplyLocked(edit)
        keyspace.dropped = true
        keyspaces[keyspace.id] = nil
        keyspacesByName[keyspace.name] = nil
        keyspaceList.removeAll { $0 === keyspace }
        fullKeyspaces.removeAll { $0 === keyspace }
        keyspace.queuedAsFull = false
        // Its memtables go (readers that took a view keep theirs).
        if keyspace.imm != nil { releaseImmutableLocked(keyspace) }
        activeMemtableBytes -= keyspace.accountedMemtableBytes
        keyspace.accountedMemtableBytes = 0
        keyspace.mem = MemTable(arenaBlockSizeBytes: 4096)
        keyspace.seekCandidate = nil
        events.keyspaceDropped(name: keyspace.name, id: keyspace.id)
        wakeAllLocked()
    }

    /// `versions.logAndApply(edit)` with `mu` released. Caller holds `mu`.
    private func logAndApplyLocked(_ edit: VersionEdit) throws(DBError) {
        mu.assertHeld()
        mu.unlock()
        let result = Result { () throws(DBError) in try versions.logAndApply(edit) }
        mu.lock()
        try result.get()
    }
}
