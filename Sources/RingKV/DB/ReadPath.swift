/// Point reads: active memtable -> immutable memtable -> L0 tables newest
/// first -> one table per deeper level (docs/ARCHITECTURE.md §Read path).
extension DBImpl {
    /// What a read sees: the memtables and version current at one moment,
    /// and the sequence number it reads at.
    struct ReadView {
        var mem: MemTable
        var imm: MemTable?
        var version: Version
        var sequence: SequenceNumber
    }

    func readView(_ options: ReadOptions) throws -> ReadView {
        mu.lock()
        defer { mu.unlock() }
        try checkOpen()
        return ReadView(mem: mem, imm: imm, version: versions.current,
                        sequence: options.snapshot?.sequence ?? lastSequence)
    }

    func get(_ key: [UInt8], options: ReadOptions) throws -> [UInt8]? {
        let view = try readView(options)
        return try key.withUnsafeBytes { try get($0, view: view) }
    }

    func get(_ userKey: UnsafeRawBufferPointer, view: ReadView) throws -> [UInt8]? {
        switch view.mem.get(userKey, snapshot: view.sequence) {
        case .found(let value): return value
        case .deleted: return nil
        case .notFound: break
        }
        if let imm = view.imm {
            switch imm.get(userKey, snapshot: view.sequence) {
            case .found(let value): return value
            case .deleted: return nil
            case .notFound: break
            }
        }
        for (_, file) in view.version.filesToSearch(forUserKey: userKey) {
            stats.tableLookups.add(1)
            let table = try tableCache.reader(for: file.number)
            switch try table.get(userKey: userKey, snapshot: view.sequence) {
            case .found(let value):
                stats.userBytesRead.add(UInt64(value.count))
                return value
            case .deleted: return nil
            case .notFound: continue
            }
        }
        return nil
    }

    func multiGet(_ keys: [[UInt8]], options: ReadOptions) throws -> [[UInt8]?] {
        let view = try readView(options)
        return try keys.map { key in try key.withUnsafeBytes { try get($0, view: view) } }
    }

    /// Every source of the view as internal iterators, newest first.
    func iterators(for view: ReadView) throws -> [any InternalIterator] {
        var children: [any InternalIterator] = [view.mem.makeIterator()]
        if let imm = view.imm { children.append(imm.makeIterator()) }
        for level in 0..<Version.numLevels {
            for file in view.version.files[level] {
                children.append(try tableCache.reader(for: file.number).makeIterator())
            }
        }
        return children
    }
}
