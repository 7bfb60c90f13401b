/// `compactRange(from:to:)` and `approximateSize(from:to:)` of one
/// keyspace (RocksDB's CompactRange and GetApproximateSizes, LevelDB's
/// CompactRange). Data flows: the caller's bounds [from, to) (nil = open
/// end) → the tables of each level whose user-key range meets them →
/// manual compactions level by level down (`runManual`, inside
/// `asManualCompaction`), or → their index blocks for a size estimate.
/// Tables wholly outside the range are never read or rewritten.
extension DBImpl {
    /// Throws `.invalidRange` when both bounds are given and `from > to`.
    static func checkRange(from: [UInt8]?, to: [UInt8]?) throws(DBError) {
        if let from, let to, compareBytes(from, to) > 0 { throw DBError.invalidRange(from: from, to: to) }
    }

    /// The tables of `level` holding a user key in [from, to).
    static func filesInRange(_ version: Version, level: Int, from: [UInt8]?, to: [UInt8]?) -> [FileMetaData] {
        if let from, let to, compareBytes(from, to) >= 0 { return [] }
        return version.overlappingFiles(level: level, smallestUserKey: from, largestUserKey: to).filter { f in
            to.map { compareBytes(f.smallestUserKey, $0) < 0 } ?? true
        }
    }

    /// Whether `memtable` holds an entry or a range tombstone meeting
    /// [from, to).
    static func memtable(_ memtable: MemTable, overlapsFrom from: [UInt8]?, to: [UInt8]?) -> Bool {
        for t in memtable.rangeTombstones.all {
            let endsAfterFrom = from.map { compareBytes(t.end, $0) > 0 } ?? true
            let startsBeforeTo = to.map { compareBytes(t.start, $0) < 0 } ?? true
            if endsAfterFrom && startsBeforeTo { return true }
        }
        let it = memtable.makeIterator()
        if let from {
            from.withUnsafeBytes { key in
                InternalKey.withEncoded(key, trailer: InternalKey.firstTrailer) { it.seek($0) }
            }
        } else {
            it.seekToFirst()
        }
        guard it.isValid else { return false }
        guard let to else { return true }
        return to.withUnsafeBytes { compareBytes(InternalKey.userKey(it.key), $0) < 0 }
    }

    /// Compacts the tables of `keyspace` holding keys in [from, to) level by
    /// level down into the deepest level that holds any of them (L1 at
    /// least): each level's tables in the range (for L0 with every L0 table
    /// overlapping them) are merged with the tables of the next level they
    /// overlap. When the levels above held nothing of the range, the
    /// bottom level's tables in it are rewritten in place, dropping
    /// deletion markers. The memtable is flushed first when it holds
    /// anything of the range. Both bounds nil: `compactAll`.
    func compactRange(_ keyspace: KeyspaceData, from: [UInt8]?, to: [UInt8]?) throws(DBError) {
        try Self.checkRange(from: from, to: to)
        try checkWritable()
        if from == nil && to == nil {
            try flushMemtable(keyspace)
            try compactAll(keyspace)
            return
        }
        // A returned compactRange makes every earlier write durable
        // (docs/DURABILITY.md): a flush syncs the log, and so does this
        // when nothing is flushed.
        if let from, let to, from == to { return try syncEarlierWrites() }
        let memtableOverlaps = mu.withLock {
            Self.memtable(keyspace.mem, overlapsFrom: from, to: to)
                || (keyspace.imm.map { Self.memtable($0, overlapsFrom: from, to: to) } ?? false)
        }
        if memtableOverlaps { try flushMemtable(keyspace) } else { try syncEarlierWrites() }
        try asManualCompaction { () throws(DBError) in try compactRangeSteps(keyspace, from: from, to: to) }
    }

    private func compactRangeSteps(_ keyspace: KeyspaceData, from: [UInt8]?, to: [UInt8]?) throws(DBError) {
        let bottom: Int? = try mu.withLock { () throws(DBError) in
            guard let version = versions.current(keyspace: keyspace.id) else {
                throw DBError.keyspaceDropped(name: keyspace.name)
            }
            guard let deepest = (0..<Version.numLevels).last(where: {
                !Self.filesInRange(version, level: $0, from: from, to: to).isEmpty
            }) else { return nil }
            return max(1, deepest)
        }
        guard let bottom else { return }
        var wroteBottom = false
        for level in 0..<bottom {
            let ran = try runManual(keyspace) { version in
                var inputs = Self.filesInRange(version, level: level, from: from, to: to)
                guard let seed = inputs.first else { return nil }
                if level == 0 {
                    // Every L0 table overlapping the chosen ones goes too:
                    // one left behind would shadow the merged entries.
                    var chosen = Set<UInt64>()
                    for f in inputs {
                        for g in CompactionPicker.level0Closure(of: f, in: version.files[0]) { chosen.insert(g.number) }
                    }
                    chosen.insert(seed.number)
                    inputs = version.files[0].filter { chosen.contains($0.number) }
                }
                let span = CompactionPicker.userKeyRange(inputs)
                let next = version.overlappingFiles(level: level + 1, smallestUserKey: span.smallest,
                                                    largestUserKey: span.largest)
                return Compaction(level: level, outputLevel: level + 1, inputs: inputs, outputLevelInputs: next,
                                  version: version, reason: .manual, score: 0)
            }
            if ran && level + 1 == bottom { wroteBottom = true }
        }
        if !wroteBottom {
            try runManual(keyspace) { version in
                let inputs = Self.filesInRange(version, level: bottom, from: from, to: to)
                guard !inputs.isEmpty else { return nil }
                return Compaction(level: bottom, outputLevel: bottom, inputs: inputs, outputLevelInputs: [],
                                  version: version, reason: .manual, score: 0)
            }
        }
    }

    /// Bytes of `keyspace`'s table files that hold [from, to): a table
    /// wholly inside counts its file size; a table the range cuts counts
    /// the bytes between the data blocks where `from` and `to` would be
    /// (its index block is searched; the table is opened if not cached).
    /// Memtables are not counted.
    func approximateSize(_ keyspace: KeyspaceData, from: [UInt8]?, to: [UInt8]?) throws(DBError) -> Int {
        try Self.checkRange(from: from, to: to)
        let version: Version = try mu.withLock { () throws(DBError) in
            if closed { throw DBError.closed }
            guard let version = versions.current(keyspace: keyspace.id) else {
                throw DBError.keyspaceDropped(name: keyspace.name)
            }
            return version
        }
        var total: UInt64 = 0
        for level in 0..<Version.numLevels {
            for f in Self.filesInRange(version, level: level, from: from, to: to) {
                let cutsStart = from.map { compareBytes(f.smallestUserKey, $0) < 0 } ?? false
                let cutsEnd = to.map { compareBytes(f.largestUserKey, $0) >= 0 } ?? false
                if !cutsStart && !cutsEnd {
                    total &+= f.fileSizeBytes
                    continue
                }
                let reader = try tableCache.reader(for: f.number)
                let start = try cutsStart ? Self.offset(of: from ?? [], in: reader, fileSizeBytes: f.fileSizeBytes) : 0
                let end = try cutsEnd ? Self.offset(of: to ?? [], in: reader, fileSizeBytes: f.fileSizeBytes)
                    : f.fileSizeBytes
                total &+= end > start ? end - start : 0
            }
        }
        return Int(clamping: total)
    }

    /// Offset in the table of the data block where `userKey` would be; the
    /// file size when it is past the table's last key.
    private static func offset(of userKey: [UInt8], in reader: TableReader,
                               fileSizeBytes: UInt64) throws(DBError) -> UInt64 {
        var located: Result<BlockHandle?, DBError> = .success(nil)
        userKey.withUnsafeBytes { key in
            located = Result { () throws(DBError) in
                try reader.locate(userKey: key, snapshot: InternalKey.maxSequenceNumber)
            }
        }
        let handle = try located.get()
        return min(handle?.offset ?? fileSizeBytes, fileSizeBytes)
    }
}
