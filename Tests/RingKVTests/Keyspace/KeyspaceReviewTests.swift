import Glibc
import RingIO
import Testing
@testable import RingKV

/// Defects a review of the keyspace branch found (fc00a5f): each test
/// failed on the code before its fix.
@Suite struct KeyspaceReviewTests {
    let backend: any IOBackend = PosixBackend()

    func currentManifest(_ path: String) throws -> String {
        FileNames.manifest(path, try CurrentFile.read(dbPath: path, backend: backend).number)
    }

    /// The snapshot of a MANIFEST is [global, default, ks1, ks2]; a damaged
    /// last record used to pass for a torn tail and be dropped, so the open
    /// forgot ks2 and swept its tables. The global record now carries the
    /// snapshot's record count (tag 14): fewer is corruption in every mode.
    @Test(arguments: [true, false])
    func aDamagedLastSnapshotRecordRefusesTheOpen(strict: Bool) throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            for name in ["ks1", "ks2"] {
                let ks = try db.keyspace(name)
                for i in 0..<100 { try ks.put("\(name)-\(i)", "value \(i)") }
                try ks.flush()
            }
            try db.close()
        }
        // Reopen: the new MANIFEST holds the snapshot alone.
        try DB(path: path, options: openOptions()).close()
        let manifest = try currentManifest(path)
        let offsets = try VersionFixtures.recordOffsets(manifest)
        #expect(offsets.count == 4)
        let tables = try KeyspaceTests.tableFiles(path)
        #expect(tables.count >= 2)
        var bytes = try VersionFixtures.readFile(manifest)
        // The global record ends with tag 14, 4 (docs/FORMAT.md §Snapshot edit).
        #expect(Array(bytes[offsets[1] - 2 ..< offsets[1]]) == [0x0e, 0x04])
        let last = try #require(offsets.last)
        bytes[last + LogRecord.headerSize + 1] ^= 0x5A
        try VersionFixtures.writeFile(manifest, bytes)

        var options = openOptions()
        options.paranoidChecks = strict
        let error = try #require(throws: DBError.self) { try DB(path: path, options: options) }
        let details = try #require(corruptionDetails(error), "\(error)")
        #expect(details.path == manifest, "\(details)")
        #expect(details.reason.contains("snapshot"), "\(details.reason)")
        #expect(try KeyspaceTests.tableFiles(path).isSuperset(of: tables))
    }
}

extension KeyspaceReviewTests {
    /// `KeyspaceOptions.validate` and the stored blob's decoder agree: a
    /// value at the limit is stored and reopens, one just over it is refused
    /// at creation and nothing is written (before, validate took any size
    /// and any bloom bits, and the database then never opened again).
    @Test func keyspaceOptionLimitsAgreeWithTheStoredEncoding() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        // KeyspaceOptions.maxMemtableSizeBytes and .maxBloomBitsPerKey, as
        // docs/KEYSPACES.md gives them.
        let maxMemtableSizeBytes = Int(Int32.max) * 4, maxBloomBitsPerKey = 1 << 16
        let atLimit = KeyspaceOptions(memtableSizeBytes: maxMemtableSizeBytes, bloomBitsPerKey: maxBloomBitsPerKey)
        do {
            let db = try DB(path: path, options: openOptions())
            _ = try db.keyspace("limits", options: atLimit)
            let manifest = try currentManifest(path)
            let sizeBefore = try VersionFixtures.readFile(manifest).count
            let over: [(String, KeyspaceOptions)] = [
                ("KeyspaceOptions.memtableSizeBytes",
                 KeyspaceOptions(memtableSizeBytes: maxMemtableSizeBytes + 1)),
                ("KeyspaceOptions.bloomBitsPerKey",
                 KeyspaceOptions(bloomBitsPerKey: maxBloomBitsPerKey + 1)),
            ]
            for (field, options) in over {
                let error = try #require(throws: DBError.self) { try db.keyspace("over", options: options) }
                guard case .invalidOption(let name, _, _) = error else {
                    Issue.record("expected invalidOption, got \(error)")
                    continue
                }
                #expect(name == field)
                // Not for an existing keyspace either.
                #expect(throws: DBError.self) { try db.keyspace("limits", options: options) }
            }
            #expect(db.keyspaceNames() == ["default", "limits"])
            #expect(try VersionFixtures.readFile(manifest).count == sizeBefore)
            try db.close()
        }
        let db = try DB(path: path, options: openOptions())
        #expect(db.keyspaceNames() == ["default", "limits"])
        #expect(try db.existingKeyspace("limits").data.storedOptions == atLimit)
        try db.close()
    }

    /// A stored TTL (bit 5 of the options blob) opens as the keyspace's
    /// ttl (TTLTests has the behaviour); a stored ttl of 0, which no build
    /// writes, is corruption in every mode.
    @Test func aStoredTTLOpensAndAZeroOneIsRefused() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: openOptions())
            _ = try db.keyspace("ks", options: KeyspaceOptions(ttl: .seconds(1)))
            try db.close()
        }
        do {
            let db = try DB(path: path, options: openOptions())
            #expect(try db.existingKeyspace("ks").data.storedOptions.ttl == .seconds(1))
            try db.close()
        }
        // Append a record storing a ttl of 0 for keyspace 1 (the encoder
        // writes what it is given; validate would refuse it).
        let manifest = try currentManifest(path)
        var edit = VersionEdit()
        edit.createdKeyspaces = [.init(id: 1, name: "ks", options: KeyspaceOptions(ttl: .zero))]
        var bytes = try VersionFixtures.readFile(manifest)
        var w = ByteWriter()
        edit.encode().withUnsafeBytes { LogRecord.encode($0, into: &w) }
        bytes += w.bytes
        try VersionFixtures.writeFile(manifest, bytes)
        let error = try #require(throws: DBError.self) { try DB(path: path, options: openOptions()) }
        let details = try #require(corruptionDetails(error), "\(error)")
        #expect(details.reason.contains("keyspace option 5"), "\(details.reason)")
    }
}

extension KeyspaceReviewTests {
    /// A drop queued while the leader stalls on that keyspace's L0: the
    /// drop marks it `dropping`, so no compaction picks it and its L0 never
    /// falls; the leader must stop waiting for it, or the drop (queued
    /// behind the leader) and every later write hang. The timeout only
    /// guards against the hang.
    @Test func droppingAKeyspaceStalledOnL0DoesNotHangWrites() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.l0SlowdownTrigger = 100
        options.l0StopTrigger = 3
        let db = try DB(path: dir.sub("db"), options: options)
        // No automatic compaction runs meanwhile (as while a manual one
        // waits to start).
        db.impl.mu.withLock { db.impl.compaction.manualWaiting += 1 }
        let ks = try db.keyspace("stalled", options: KeyspaceOptions(memtableSizeBytes: 256 << 10))
        let value = [UInt8](repeating: 7, count: 1000)
        for round in 0..<3 {
            for i in 0..<10 { try ks.put(bytes("r\(round)-\(i)"), value) }
            try ks.flush()
        }
        try #require(ks.stats().levels[0].files == 3)
        // The writer fills the memtable: its switch stalls on L0.
        let writerDone = Locked(false)
        let writer = BackgroundThread.spawn {
            for i in 0..<1000 { try? ks.put(bytes("w\(i)"), value) }
            writerDone.withLock { $0 = true }
        }
        usleep(300_000)
        #expect(!writerDone.withLock { $0 }, "the writer did not stall")
        let dropDone = Locked(false)
        let dropper = BackgroundThread.spawn {
            try? db.dropKeyspace("stalled")
            dropDone.withLock { $0 = true }
        }
        #expect(KeyspaceTests.eventually { db.impl.mu.withLock { ks.data.dropping || ks.data.dropped } })
        // Compactions may run again; none picks the dropping keyspace.
        db.impl.mu.withLock {
            db.impl.compaction.manualWaiting -= 1
            db.impl.wakeAllLocked()
        }
        let otherDone = Locked(false)
        let other = BackgroundThread.spawn {
            try? db.put("default-key", "written")
            otherDone.withLock { $0 = true }
        }
        let finished = KeyspaceTests.eventually {
            otherDone.withLock { $0 } && dropDone.withLock { $0 } && writerDone.withLock { $0 }
        }
        #expect(finished, "writes hung behind the drop of a keyspace stalled on L0")
        // A hung run leaves the threads blocked and the database open.
        guard finished else { return }
        writer.join(); dropper.join(); other.join()
        #expect(try db.get("default-key") == "written")
        #expect(db.keyspaceNames() == ["default"])
        try db.close()
    }
}

extension KeyspaceReviewTests {
    /// A keyspace written now and then is never full and never the
    /// largest, so without a WAL bound every log since its first unflushed
    /// write stayed. Past `Options.maxTotalWALSizeBytes` (0: 4 × the
    /// memtable budget, here 512 KiB) the keyspaces holding the oldest log
    /// are switched and flushed, so the live logs stay bounded.
    @Test func liveWALFilesStayBoundedWithATricklingKeyspace() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions(memtableBytes: 32 << 10)
        options.walPreallocateBytes = 64 << 10
        let db = try DB(path: path, options: options)
        let trickle = try db.keyspace("trickle")
        let value = [UInt8](repeating: 3, count: 1000)
        var mostLogs = 0
        for i in 0..<4000 {
            try db.put(bytes("busy\(i)"), value)
            if i % 100 == 0 {
                try trickle.put(bytes("t\(i)"), "small")
                mostLogs = max(mostLogs, try KeyspaceTests.logFiles(path).count)
            }
        }
        // About 4 MB of WAL went by (over 100 logs); the bound keeps
        // about 512 KiB of it, ~20 logs of ~25 KiB, plus the flushes in flight.
        print("liveWALFilesStayBoundedWithATricklingKeyspace: at most \(mostLogs) live WAL files")
        #expect(mostLogs <= 40, "up to \(mostLogs) live WAL files")
        #expect(try trickle.get("t3900") == "small" && db.get("busy3999") == value)
        try db.close()
        let again = try DB(path: path, options: options)
        #expect(try again.existingKeyspace("trickle").scan().count == 40)
        try again.close()
    }
}

extension KeyspaceReviewTests {
    /// Another database's "default" handle in a batch is refused like its
    /// other keyspaces (it used to write into this database's default).
    @Test func aBatchNamingAnotherDatabasesDefaultIsRefused() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("a"), options: openOptions())
        let other = try DB(path: dir.sub("b"), options: openOptions())
        let foreignDefault = try other.keyspace("default")
        var batch = WriteBatch()
        batch.put("mine", "1")
        batch.put("theirs", "2", in: foreignDefault)
        #expect(throws: DBError.unknownKeyspace(name: "default")) { try db.write(batch) }
        var merged = WriteBatch()
        merged.put("x", "y")
        merged.append(contentsOf: batch)
        #expect(throws: DBError.unknownKeyspace(name: "default")) { try db.write(merged) }
        #expect(try db.get("mine") as String? == nil && db.get("theirs") as String? == nil)
        // Its own default handle, and the other database's own batch, go.
        var own = WriteBatch()
        own.put("mine", "1", in: try db.keyspace("default"))
        try db.write(own)
        try other.write(batch)
        #expect(try db.get("mine") == "1" && other.get("theirs") == "2")
        try db.close()
        try other.close()
    }
}

extension KeyspaceReviewTests {
    /// The async write refuses it too, before it is merged with others.
    @Test func anAsyncBatchNamingAnotherDatabasesDefaultIsRefused() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("a"), options: openOptions())
        let other = try await DB(path: dir.sub("b"), options: openOptions())
        var batch = WriteBatch()
        batch.put("theirs", "2", in: try await other.keyspace("default"))
        await #expect(throws: DBError.unknownKeyspace(name: "default")) { try await db.write(batch) }
        let value: [UInt8]? = try await db.get("theirs")
        #expect(value == nil)
        try await db.close()
        try await other.close()
    }
}

extension KeyspaceReviewTests {
    /// The picker of keyspace 1 checks output-range conflicts against the
    /// running compactions of keyspace 1 (it used to check keyspace 0's,
    /// finding none, and hand out a compaction that `register` refuses
    /// with a precondition).
    @Test func thePickerChecksConflictsInItsOwnKeyspace() throws {
        typealias F = CompactionFixtures
        var options = Options()
        options.l1TargetSizeBytes = 10_000
        options.targetFileSizeBytes = 1000
        let picker = CompactionPicker(options: options)
        let noPointers = [[UInt8]?](repeating: nil, count: Version.numLevels)
        // A compaction of keyspace 1 writing "a"..."z" into L2 is running
        // (its input is not in the version the picker sees).
        let wide = try F.version([1: [F.file(99, "a", "z", sizeBytes: 6000)]])
        let running = Compaction(level: 1, outputLevel: 2, inputs: wide.files[1], outputLevelInputs: [],
                                 version: wide, reason: .levelSize, score: 1)
        var state = CompactionState()
        _ = state.register(running, keyspace: 1)
        // L1 is over its target: table 11 ("c"..."d") would go to L2, inside
        // the running one's output range.
        let v = try F.version([1: [F.file(11, "c", "d", sizeBytes: 20_000)]])
        let picked = picker.pick(version: v, compactPointers: noPointers, state: state.restricted(to: 1))
        #expect(picked == nil, "picked \(picked.map { $0.inputs.map(\.number) } ?? [])")
        // Keyspace 0 has nothing running: there it goes.
        #expect(picker.pick(version: v, compactPointers: noPointers, state: state.restricted(to: 0)) != nil)
    }
}
