import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// The pipelined `TableFileWriter` (docs/INGEST.md §Pipelined writer) and
/// ingest's shortcut for the files it wrote (`WrittenTables`): the
/// writer's file is byte for byte the synchronous builder's, an error of
/// the writer thread reaches the caller, and a file changed after its
/// writer finished is read whole (and refused when damaged).
@Suite struct TableFileWriterPipelineTests {
    /// `count` entries: keys "key" + 8 digits with random gaps, values a
    /// random mix of compressible and random bytes (the LZ4 skip streak
    /// starts and ends), some long.
    static func entries(_ count: Int, _ rng: inout TableTestRNG) -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        var i = 0
        for _ in 0..<count {
            i += 1 + rng.below(3)
            let length = rng.below(20) == 0 ? 3000 : rng.below(200)
            let value = rng.below(4) == 0 ? [UInt8](repeating: UInt8(i % 251), count: length) : rng.bytes(length)
            out.append((TableTestSupport.userKey(i), value))
        }
        return out
    }

    /// The DBError `body` throws (nil: none; any other error fails the test).
    static func caught(_ body: () throws -> Void) -> DBError? {
        do {
            try body()
            return nil
        } catch let error as DBError {
            return error
        } catch {
            Issue.record("not a DBError: \(error)")
            return nil
        }
    }

    /// `TableFileWriter` runs its `TableBuilder` on the pipeline's thread
    /// and adds through `addCheckedPut` (no per-entry compares): its file
    /// is byte for byte what a synchronous builder's `add` writes, for one
    /// entry, less than a chunk, many chunks (the queue fills and the
    /// caller waits) and records larger than a chunk; and it reads back.
    @Test func theWritersFileIsTheSynchronousBuildersFile() throws {
        var rng = TableTestRNG()
        print("TableFileWriterPipelineTests seed \(rng.seed) (RINGKV_SEED replays)")
        let dir = try TempDir()
        for (count, prefixLength) in [(1, nil), (150, 4), (40_000, nil), (40_000, 5)] as [(Int, Int?)] {
            var data = Self.entries(count, &rng)
            if count > 1000 {
                // Records larger than a chunk travel in chunks of their own.
                for at in [10, 20_000, count - 1] { data[at].1 = rng.bytes(RecordPipeline.chunkBytes + 1000) }
            }
            var options = Options()
            options.prefixFilterLength = prefixLength
            let name = "\(count)-\(prefixLength ?? 0).sst"
            let writer = try TableFileWriter(path: dir.sub("writer-" + name), tableOptions: options,
                                             backend: IOBackends.makeDefault())
            for (k, v) in data { try writer.add(k, v) }
            let info = try writer.finish()
            let backend = IOBackends.makeDefault()
            let file = try backend.openFile(dir.sub("sync-" + name), [.readWrite, .create, .truncate], direct: .off)
            defer { try? file.close() }
            let builder = TableBuilder(file: file, backend: backend, options: TableOutput.builderOptions(options))
            for (k, v) in data { try builder.add(InternalKey.make(k, 0, .value), v) }
            let properties = try builder.finish()
            #expect(info.fileSizeBytes == properties.fileSizeBytes && info.entryCount == properties.entryCount)
            #expect(try readWholeFile(dir.sub("writer-" + name)) == readWholeFile(dir.sub("sync-" + name)),
                    "files differ, \(count) entries, prefix length \(String(describing: prefixLength)) (seed \(rng.seed))")
            if count > 1000 {
                #expect(info.fileSizeBytes > UInt64(RecordPipeline.chunkBytes * (RecordPipeline.queuedChunks + 2)))
            }
            // And it reads back.
            let read = try backend.openFile(dir.sub("writer-" + name), .read, direct: .off)
            defer { try? read.close() }
            let reader = try TableReader.open(file: read, fileNumber: 1, backend: backend)
            let it = reader.makeIterator()
            try it.seekToFirst()
            var n = 0
            while it.isValid {
                #expect(Array(InternalKey.userKey(it.key)) == data[n].0 && Array(it.value) == data[n].1)
                n += 1
                try it.next()
            }
            #expect(n == count)
        }
    }

    @Test func aWriteErrorOfTheWriterThreadIsThrownByALaterAdd() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        let backend = FaultInjectingBackend(base: PosixBackend(), plan: plan)
        let path = dir.sub("f.sst")
        let writer = try TableFileWriter(path: path, tableOptions: Options(), backend: backend)
        var value = [UInt8](repeating: 7, count: 100)
        var i = 0
        for _ in 0..<5000 {
            value[0] = UInt8(truncatingIfNeeded: i)
            try writer.add(TableTestSupport.userKey(i), value)
            i += 1
        }
        plan.add(FaultPlan.Rule(kind: .write, errno: EIO, sticky: true))
        // The failing write happens on the writer thread; an add after it
        // throws it. The queue holds a bounded number of blocks, so this
        // happens within a bounded number of adds.
        var thrown: DBError?
        while i < 2_000_000 {
            do throws(DBError) {
                try writer.add(TableTestSupport.userKey(i), value)
            } catch {
                thrown = error
                break
            }
            i += 1
        }
        guard case .io(let e)? = thrown else {
            Issue.record("no I/O error reached the caller after \(i) adds: \(String(describing: thrown))")
            return
        }
        #expect(e.errno == 5)
        #expect(throws: DBError.self) { try writer.add(TableTestSupport.userKey(i + 1), value) }
        #expect(throws: DBError.self) { try writer.finish() }
    }

    @Test func aWriteErrorOnlyTheWriterThreadSeesIsNeverLost() throws {
        let dir = try TempDir()
        let path = dir.sub("f.sst")
        // Writes fail on every thread but this one: only the pipeline's
        // writes of data blocks fail; finish's own writes and fsync on
        // this thread succeed, so a lost error would mean a file without
        // its first blocks that finish reports as written.
        let owner = pthread_self()
        let backend = FaultInjectingBackend(base: PosixBackend(), plan: FaultPlan([
            FaultPlan.Rule(kind: .write, errno: EIO, sticky: true,
                           onlyIf: { pthread_equal(pthread_self(), owner) == 0 }),
        ]))
        var thrown: DBError?
        do {
            let writer = try TableFileWriter(path: path, tableOptions: Options(), backend: backend)
            var rng = TableTestRNG(seedFromEnvironmentOr: 23)
            // ~2.3 MiB that LZ4 cannot shrink: the worker writes (and
            // fails) at least once.
            for i in 0..<20_000 {
                let value = rng.bytes(100)
                if let error = Self.caught({ try writer.add(TableTestSupport.userKey(i), value) }) {
                    thrown = error
                    break
                }
            }
            if thrown == nil { thrown = Self.caught { try writer.finish() } }
        }
        guard case .io(let e)? = thrown else {
            Issue.record("the writer thread's error was not thrown by add or finish: \(String(describing: thrown))")
            return
        }
        #expect(e.errno == 5)
        #expect(!FileSystem.exists(path))  // the failed writer, dropped, removed its file
    }

    @Test func aFileUnchangedSinceItsWriterFinishedIsNotReadBackOthersAre() throws {
        let dir = try TempDir()
        let path = dir.sub("f.sst")
        let info = try IngestTests.writeFile(path, IngestTests.pairs(0..<20_000, "v"))
        let counting = CountingBackend(IOBackends.makeDefault())
        // A copy (another inode) is read whole.
        try writeWholeFile(dir.sub("copy.sst"), readWholeFile(path))
        _ = try IngestJob.check(dir.sub("copy.sst"), prefixLength: nil, backend: counting)
        #expect(counting.bytesRequested >= Int(info.fileSizeBytes) * 9 / 10, "\(counting.bytesRequested) bytes read")
        counting.resetCounts()
        let input = try IngestJob.check(path, prefixLength: nil, backend: counting)
        #expect(counting.bytesRequested < Int(info.fileSizeBytes) / 4, "\(counting.bytesRequested) bytes read")
        #expect(input.entryCount == 20_000 && input.smallestUserKey == info.smallestKey
                && input.largestUserKey == info.largestKey)
        // The record is used once: a second check reads the file whole.
        counting.resetCounts()
        _ = try IngestJob.check(path, prefixLength: nil, backend: counting)
        #expect(counting.bytesRequested >= Int(info.fileSizeBytes) * 9 / 10)
    }

    @Test func aFileDamagedAfterItsWriterFinishedIsRefused() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        try db.put("k00001", "old")
        try db.flush()
        let before = try IngestTests.tableNames(dir.sub("db"))
        // In place, same size, even with its modification time put back:
        // the status-change time still differs.
        for restoreTimes in [false, true] {
            let path = dir.sub("f-\(restoreTimes).sst")
            try IngestTests.writeFile(path, IngestTests.pairs(0..<2000, "new"))
            var s = stat()
            #expect(stat(path, &s) == 0)
            let fd = open(path, O_WRONLY)
            #expect(fd >= 0)
            var byte: UInt8 = 0x5a
            #expect(pwrite(fd, &byte, 1, 100) == 1)  // inside the first data block
            if restoreTimes {
                var times = [s.st_atim, s.st_mtim]
                #expect(futimens(fd, &times) == 0)
            }
            close(fd)
            let error = Self.caught { try db.ingest([path]) }
            guard case .corruption? = error else {
                let what = String(describing: error)
                Issue.record(Comment(rawValue: "a file damaged after its writer finished: \(what) (restoreTimes \(restoreTimes))"))
                continue
            }
        }
        #expect(try IngestTests.tableNames(dir.sub("db")) == before)
        #expect(try db.get("k00001") == "old" && db.get("k00000") as String? == nil)
    }
}
