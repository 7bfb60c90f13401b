import Testing
import Dispatch
import Synchronization
import RingIO
@testable import RingKV

@Suite struct TableTests {
    @Test func fiftyThousandEntriesReadBackAtEverySnapshot() throws {
        var rng = TableTestRNG()
        let history = TableTestHistory(operations: 50_000, keySpace: 20_000, rng: &rng)
        let entries = history.entries
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000007.sst"
            let props = try TableTestSupport.writeTable(path: path, entries: entries, backend: backend)
            #expect(props.entryCount == UInt64(entries.count))
            #expect(props.smallestKey == entries.first!.key)
            #expect(props.largestKey == entries.last!.key)
            #expect(props.smallestSequence == 1 && props.largestSequence == history.lastSequence)
            #expect(props.fileSizeBytes % 4096 == 0)
            #expect(try FileSystem.fileSize(path) == props.fileSizeBytes)
            #expect(props.dataBlockCount > 100)

            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            #expect(reader.properties == props)
            #expect(reader.fileNumber == 7 && reader.fileSizeBytes == props.fileSizeBytes)
            let snapshots = [history.lastSequence, history.lastSequence / 2, history.lastSequence / 5, 0]
            var mismatches = 0
            for k in stride(from: 0, to: history.keySpace + 500, by: 3) {
                for s in snapshots {
                    let got = try reader.get(userKey: TableTestSupport.userKey(k), snapshot: s)
                    if got != history.expected(k, snapshot: s) { mismatches += 1 }
                }
            }
            #expect(mismatches == 0, "seed \(rng.seed)")
            try reader.verifyChecksums()
        }
    }

    @Test func iteratorScansEverythingAndSeeksToTheFirstKeyAtOrAfter() throws {
        var rng = TableTestRNG()
        let history = TableTestHistory(operations: 20_000, keySpace: 8_000, rng: &rng)
        let entries = history.entries
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000001.sst"
            try TableTestSupport.writeTable(path: path, entries: entries, backend: backend)
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            let all = try TableTestSupport.scan(reader.makeIterator())
            #expect(all.count == entries.count, "seed \(rng.seed)")
            #expect(zip(all, entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }, "seed \(rng.seed)")

            let it = reader.makeIterator()
            for _ in 0..<500 {
                let k = rng.below(history.keySpace + 10)
                let seq = UInt64(rng.below(Int(history.lastSequence) + 1))
                let target = InternalKey.make(TableTestSupport.userKey(k), seq, .value)
                try target.withUnsafeBytes { try it.seek($0) }
                let expected = entries.firstIndex { e in
                    e.key.withUnsafeBytes { a in target.withUnsafeBytes { b in InternalKey.compare(a, b) >= 0 } }
                }
                if let expected {
                    #expect(it.isValid && Array(it.key) == entries[expected].key, "seed \(rng.seed)")
                    // next() continues across block boundaries.
                    if it.isValid && expected + 1 < entries.count {
                        try it.next()
                        #expect(it.isValid && Array(it.key) == entries[expected + 1].key, "seed \(rng.seed)")
                    }
                } else {
                    #expect(!it.isValid, "seed \(rng.seed)")
                }
            }
            let past = InternalKey.make(Array("zzz".utf8), 1, .value)
            try past.withUnsafeBytes { try it.seek($0) }
            #expect(!it.isValid)
        }
    }

    @Test func directAndBufferedFilesProduceTheSameBytesAndBothRead() throws {
        var rng = TableTestRNG()
        let entries = TableTestHistory(operations: 5_000, keySpace: 3_000, rng: &rng).entries
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let directPath = dir + "/000001.sst", bufferedPath = dir + "/000002.sst"
            let probe = try File.open(dir + "/probe", [.readWrite, .create], direct: .preferred)
            if !TableTestSupport.isOnTmpfs(dir) {
                #expect(probe.isDirect, "ext4 accepts O_DIRECT; the builder must be exercised with it")
            }
            try probe.close()
            try TableTestSupport.writeTable(path: directPath, entries: entries, backend: backend, direct: .preferred)
            try TableTestSupport.writeTable(path: bufferedPath, entries: entries, backend: backend, direct: .off)
            let a = try readWholeFile(directPath), b = try readWholeFile(bufferedPath)
            #expect(a == b)
            #expect(a.count % 4096 == 0)

            for (path, direct) in [(directPath, File.DirectIO.preferred), (bufferedPath, .off), (directPath, .off), (bufferedPath, .preferred)] {
                let reader = try TableTestSupport.openTable(path: path, backend: backend, direct: direct)
                let all = try TableTestSupport.scan(reader.makeIterator())
                #expect(all.count == entries.count)
                #expect(try reader.get(userKey: Array(entries[77].key.dropLast(8)), snapshot: InternalKey.maxSequenceNumber) != .notFound)
            }
        }
    }

    @Test func smallWritesChunksStillEndOnA4096Boundary() throws {
        // Chunks of one page and batches of one exercise chunk rollover and padding.
        var options = TableBuilderOptions()
        options.writeChunkSizeBytes = 4096
        options.writeChunksPerBatch = 1
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            for count in [0, 1, 2, 37, 900] {
                let entries = (0..<count).map { i in
                    (key: InternalKey.make(TableTestSupport.userKey(i), UInt64(i + 1), .value), value: Array("v\(i)".utf8))
                }
                let path = dir + "/t\(count).sst"
                let props = try TableTestSupport.writeTable(path: path, entries: entries, backend: backend, options: options)
                #expect(try FileSystem.fileSize(path) == props.fileSizeBytes)
                #expect(props.fileSizeBytes % 4096 == 0 && props.fileSizeBytes > 0)
                let reader = try TableTestSupport.openTable(path: path, backend: backend)
                let all = try TableTestSupport.scan(reader.makeIterator())
                #expect(all.map(\.key) == entries.map(\.key))
                try reader.verifyChecksums()
            }
        }
    }

    @Test func uncompressedTablesWithoutFilterWork() throws {
        var options = TableBuilderOptions()
        options.compression = .uncompressed
        options.bloomBitsPerKey = 0
        var rng = TableTestRNG()
        let history = TableTestHistory(operations: 3_000, keySpace: 1_000, rng: &rng)
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000003.sst"
            try TableTestSupport.writeTable(path: path, entries: history.entries, backend: backend, options: options)
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            #expect(reader.filter == nil)
            for k in 0..<1_100 {
                let got = try reader.get(userKey: TableTestSupport.userKey(k), snapshot: history.lastSequence)
                #expect(got == history.expected(k, snapshot: history.lastSequence), "seed \(rng.seed)")
            }
        }
    }

    @Test func stepwiseLookupReadsManyBlocksInOneBatch() throws {
        var rng = TableTestRNG()
        let history = TableTestHistory(operations: 10_000, keySpace: 5_000, rng: &rng)
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000004.sst"
            try TableTestSupport.writeTable(path: path, entries: history.entries, backend: backend)
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            let keys = (0..<64).map { _ in rng.below(5_000) }
            var handles: [BlockHandle] = []
            var wanted: [Int] = []
            for k in keys {
                let user = TableTestSupport.userKey(k)
                guard user.withUnsafeBytes({ reader.mayContain(userKey: $0) }) else { continue }
                let h = try user.withUnsafeBytes { u in
                    try TableReader.withLookupKey(u, history.lastSequence) { try reader.locate($0) }
                }
                if let h { handles.append(h); wanted.append(k) }
            }
            let blocks = try reader.readBlocks(handles)
            #expect(blocks.count == handles.count)
            for (i, k) in wanted.enumerated() {
                let got = try TableTestSupport.userKey(k).withUnsafeBytes {
                    try reader.search(blocks[i], userKey: $0, snapshot: history.lastSequence)
                }
                #expect(got == history.expected(k, snapshot: history.lastSequence), "seed \(rng.seed)")
            }
            let past = InternalKey.make(Array("zzzz".utf8), 1, .value)
            #expect(try past.withUnsafeBytes { try reader.locate($0) } == nil)
        }
    }

    @Test func oneReaderServesManyThreadsAtOnce() throws {
        var rng = TableTestRNG()
        let history = TableTestHistory(operations: 6_000, keySpace: 3_000, rng: &rng)
        let backend = try TableTestSupport.makeBackend()
        try TableTestSupport.withTemporaryDirectory { dir in
            let path = dir + "/000005.sst"
            try TableTestSupport.writeTable(path: path, entries: history.entries, backend: backend)
            let reader = try TableTestSupport.openTable(path: path, backend: backend)
            let failures = Mutex(0)
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                for k in stride(from: worker, to: 3_000, by: 4) {
                    let got = try? reader.get(userKey: TableTestSupport.userKey(k), snapshot: history.lastSequence)
                    if got != history.expected(k, snapshot: history.lastSequence) { failures.withLock { $0 += 1 } }
                }
            }
            #expect(failures.withLock { $0 } == 0, "seed \(rng.seed)")
        }
    }

    @Test func separatorsStayBetweenTheirNeighbours() {
        var rng = TableTestRNG()
        for _ in 0..<2_000 {
            var a = rng.bytes(1 + rng.below(6)), b = rng.bytes(1 + rng.below(6))
            if rng.below(3) == 0 { b = a + rng.bytes(1 + rng.below(3)) }
            if compareBytes(a, b) > 0 { swap(&a, &b) }
            let ka = InternalKey.make(a, 9, .value)
            let kb = compareBytes(a, b) == 0 ? InternalKey.make(b, 3, .value) : InternalKey.make(b, 100, .value)
            let sep = ka.withUnsafeBytes { x in kb.withUnsafeBytes { y in TableBuilder.shortestSeparator(x, y) } }
            let ok = sep.withUnsafeBytes { s in ka.withUnsafeBytes { x in kb.withUnsafeBytes { y in
                InternalKey.compare(x, s) <= 0 && InternalKey.compare(s, y) < 0 } } }
            #expect(ok, "a=\(a) b=\(b) sep=\(sep) seed \(rng.seed)")
            let succ = ka.withUnsafeBytes { TableBuilder.shortSuccessor($0) }
            #expect(succ.withUnsafeBytes { s in ka.withUnsafeBytes { InternalKey.compare($0, s) <= 0 } })
        }
    }
}

/// Entries out of order (a damaged compaction input with valid checksums)
/// fail the table being built with `DBError.corruption`; the process goes on.
@Suite struct TableBuilderOrderTests {
    @Test func anEntryOutOfOrderIsCorruptionNotATrap() throws {
        let dir = try TempDir("ringkv-builder-order")
        let backend = try URingBackend()
        let file = try File.open(dir.sub("1.sst"), [.readWrite, .create, .truncate], direct: .off)
        defer { try? file.close() }
        let builder = TableBuilder(file: file, backend: backend, options: TableBuilderOptions())
        try builder.add(InternalKey.make(Array("b".utf8), 5, .value), Array("1".utf8))
        for key in [InternalKey.make(Array("a".utf8), 9, .value), InternalKey.make(Array("b".utf8), 5, .value)] {
            #expect(throws: DBError.self) { try builder.add(key, Array("2".utf8)) }
        }
        // The builder is dead after the error; abandoning it is all that is left.
        #expect(throws: DBError.self) { try builder.add(InternalKey.make(Array("c".utf8), 1, .value), []) }
        builder.abandon()
    }
}
