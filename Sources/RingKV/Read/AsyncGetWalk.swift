import RingIO

/// The async `get`'s walk (Read/AsyncReadPath.swift), in synchronous
/// steps: `next` searches the memtables, then the tables in `withValue`'s
/// order (PointLookup.swift: L0 newest first, then the one table of each
/// deeper level that may hold the key) — filter, index, block cache —
/// until it has an answer, or needs a table opened or a block read, which
/// the async caller does before calling `found` (the block read) or
/// `next` again (the opened table).
///
/// A class, so the async caller's frame holds one reference to it; its
/// steps are not inlined and throw untyped errors: what the steps compute
/// stays on the thread's stack, not in the async caller's frame (kept in
/// the task allocator across every suspension; a typed error takes a
/// slot there, an untyped one a register).
final class AsyncGetWalk {
    let key: [UInt8]
    let hash: UInt64
    let view: DBImpl.ReadView
    /// The largest range tombstone over `key` seen so far (`withValue`).
    private var covering: SequenceNumber = 0
    private var memtablesSearched = false
    /// The next table: `position` in level 0 while `level` is 0, else
    /// the one table of `level` that may hold the key.
    private var level = 0
    private var position = 0

    enum Step {
        /// A source's answer for the key.
        case answer(DBImpl.Answer<[UInt8]>)
        /// No source holds the key.
        case absent
        /// The next table is not open: open it, then call `next` with it.
        case open(fileNumber: UInt64)
        /// The block that may hold the key is not cached: read it, then
        /// call `found`.
        case read(DBImpl.BlockLocation)
    }

    /// A walk over `db`'s view for `options` and `keyspace`.
    @inline(never)
    init(_ db: DBImpl, key: [UInt8], options: ReadOptions, keyspace: KeyspaceData?) throws {
        self.key = key
        self.hash = key.withUnsafeBytes { BloomHash.hash64($0) }
        self.view = try db.readView(options, keyspace: keyspace)
    }

    /// The value `answer` gives the user (nil: deleted or expired), unless
    /// it needs a merge (the caller folds it).
    @inline(never)
    func value(of answer: DBImpl.Answer<[UInt8]>, _ db: DBImpl) throws -> [UInt8]? {
        try db.liveValue(answer.value, view: view)
    }

    /// Searches on until an answer, a table to open or a block to read.
    /// `opened`: the reader of the table the previous step asked to open.
    @inline(never)
    func next(_ db: DBImpl, opened: TableReader?) throws -> Step {
        let key = self.key
        var covering = self.covering
        defer { self.covering = covering }
        if !memtablesSearched {
            memtablesSearched = true
            if let answer = try key.withBytes({ (k) throws(DBError) in
                try db.memtableAnswer(k, hash: hash, view: view, covering: &covering, { Array($0) })
            }) { return .answer(answer) }
        }
        var opened = opened
        while let file = nextFile() {
            let table: TableReader
            if let reader = opened {
                table = reader
                opened = nil
            } else if let reader = try db.tableCache.cachedReader(for: file.number) {
                table = reader
            } else {
                return .open(fileNumber: file.number)
            }
            passFile()
            guard let location = try key.withBytes({ (k) throws(DBError) in
                try db.locateBlock(file, in: table, key: k, hash: hash, view: view, covering: &covering)
            }) else { continue }
            guard let block = db.cachedBlock(location) else { return .read(location) }
            if let answer = try Self.answer(db, block: block, at: location, key: key, view: view,
                                            covering: covering) { return .answer(answer) }
        }
        return .absent
    }

    /// The block `next` asked for, read: cached (when the view fills the
    /// cache) and searched. nil: no entry there, call `next` again.
    @inline(never)
    func found(_ db: DBImpl, block: Block, at location: DBImpl.BlockLocation) throws -> DBImpl.Answer<[UInt8]>? {
        if view.fillCache { db.blockCache.insert(location.cacheKey, block) }
        return try Self.answer(db, block: block, at: location, key: key, view: view, covering: covering)
    }

    private static func answer(_ db: DBImpl, block: Block, at location: DBImpl.BlockLocation, key: [UInt8],
                               view: DBImpl.ReadView, covering: SequenceNumber) throws(DBError) -> DBImpl.Answer<[UInt8]>? {
        try key.withBytes { (k) throws(DBError) in
            try db.answer(in: block, at: location, key: k, view: view, covering: covering, { Array($0) })
        }
    }

    /// The next table that may hold the key (not passed yet), or nil.
    private func nextFile() -> FileMetaData? {
        let version = view.version
        return key.withUnsafeBytes { k -> FileMetaData? in
            if level == 0 {
                let files = version.files[0]
                while position < files.count {
                    if files[position].contains(userKey: k) { return files[position] }
                    position += 1
                }
                level = 1
            }
            while level < Version.numLevels {
                if let file = version.fileContaining(level: level, userKey: k) { return file }
                level += 1
            }
            return nil
        }
    }

    /// Moves past the table `nextFile` returned.
    private func passFile() {
        if level == 0 { position += 1 } else { level += 1 }
    }
}
