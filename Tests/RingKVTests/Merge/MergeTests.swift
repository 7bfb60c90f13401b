import RingIO
import Testing
@testable import RingKV

/// Merge operands: bad input refused at write time, a database read by an
/// open without the operator, partial merges in flush, a user operator,
/// and a database of format 5 opening under format 6.
@Suite struct MergeTests {
    static func options(_ mergeOperator: (any MergeOperator)? = CounterMerge()) -> Options {
        var options = openOptions()
        options.mergeOperator = mergeOperator
        return options
    }

    @Test func aMergeWithoutAnOperatorIsRefusedAndWritesNothing() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.options(nil))
        let before = db.stats().lastSequence
        #expect(throws: DBError.invalidArgument("merge needs Options.mergeOperator (none is set)")) {
            try db.merge(bytes("k"), CounterMerge.operand(1))
        }
        var batch = WriteBatch()
        batch.put(bytes("other"), bytes("v"))
        batch.merge(bytes("k"), CounterMerge.operand(1))
        #expect(throws: DBError.self) { try db.write(batch) }
        let ks = try db.keyspace("ks")
        #expect(throws: DBError.self) { try ks.merge(bytes("k"), CounterMerge.operand(1)) }
        #expect(db.stats().lastSequence == before, "nothing of a refused batch was written")
        #expect(try db.get(bytes("other")) == nil)
        try db.close()
    }

    @Test func aCounterOperandThatIsNot8BytesIsRefusedAtWriteTime() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.options())
        try db.merge(bytes("k"), CounterMerge.operand(5))
        for bad in [[UInt8](), [1, 2, 3], [UInt8](repeating: 0, count: 9)] {
            do throws(DBError) {
                try db.merge(bytes("k"), bad)
                Issue.record("a \(bad.count)-byte operand was accepted")
            } catch let error {
                guard case .invalidArgument(let reason) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(reason.contains("8 bytes") && reason.contains("got \(bad.count)"), "\(reason)")
            }
        }
        var batch = WriteBatch()
        batch.merge(bytes("k"), CounterMerge.operand(1))
        batch.merge(bytes("k"), [1, 2, 3])
        #expect(throws: DBError.self) { try db.write(batch) }
        #expect(CounterMerge.value(try db.get(bytes("k"))) == 5, "no part of a refused batch applied")
        try db.close()
    }

    @Test func asyncMergesAreCheckedAsSyncOnes() async throws {
        let dir = try TempDir()
        let none = try await DB(path: dir.sub("none"), options: Self.options(nil))
        await #expect(throws: DBError.self) { try await none.merge(bytes("k"), CounterMerge.operand(1)) }
        try await none.close()
        let db = try await DB(path: dir.sub("db"), options: Self.options())
        await #expect(throws: DBError.self) { try await db.merge(bytes("k"), [1, 2, 3]) }
        try await db.merge(bytes("k"), CounterMerge.operand(4))
        try await db.merge(bytes("k"), CounterMerge.operand(-1))
        #expect(CounterMerge.value(try await db.get(bytes("k"))) == 3)
        try await db.close()
    }

    @Test func storedOperandsReadWithoutAnOperatorThrowAndLoseNothing() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        do {
            let db = try DB(path: path, options: Self.options())
            try db.put(bytes("base"), CounterMerge.operand(100))
            try db.merge(bytes("base"), CounterMerge.operand(1))
            try db.flush()
            try db.merge(bytes("base"), CounterMerge.operand(2))
            try db.merge(bytes("fresh"), CounterMerge.operand(7))
            try db.put(bytes("plain"), bytes("v"))
            try db.close()
        }
        do {
            let db = try DB(path: path, options: Self.options(nil))
            #expect(throws: DBError.mergeOperatorMissing(key: bytes("base"))) { _ = try db.get(bytes("base")) }
            #expect(throws: DBError.mergeOperatorMissing(key: bytes("fresh"))) { _ = try db.get(bytes("fresh")) }
            #expect(throws: DBError.self) { _ = try db.multiGet([bytes("plain"), bytes("fresh")]) }
            #expect(throws: DBError.self) { _ = try db.scan() }
            #expect(throws: DBError.self) { _ = try db.scan(reverse: true) }
            #expect(try db.get(bytes("plain")) == bytes("v"), "keys without operands read as before")
            // Flush and compaction without an operator copy operands as they are.
            try db.flush()
            try db.compactRange()
            try db.close()
        }
        let db = try DB(path: path, options: Self.options())
        #expect(CounterMerge.value(try db.get(bytes("base"))) == 103)
        #expect(CounterMerge.value(try db.get(bytes("fresh"))) == 7)
        try db.close()
    }

    @Test func aBaseTheOperatorCannotReadFailsThatReadOnly() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: Self.options())
        try db.put(bytes("text"), bytes("not a counter"))
        try db.merge(bytes("text"), CounterMerge.operand(1))
        try db.merge(bytes("n"), CounterMerge.operand(1))
        do {
            _ = try db.get(bytes("text"))
            Issue.record("a merge over a 13-byte value returned a value")
        } catch {
            guard case .mergeFailed(let key, let reason) = error else { throw error }
            #expect(key == bytes("text") && reason.contains("13 bytes"), "\(reason)")
        }
        #expect(CounterMerge.value(try db.get(bytes("n"))) == 1, "other keys read as before")
        // Flush and compaction keep the run as it is (fullMerge fails there too).
        try db.flush()
        try db.compactRange()
        #expect(throws: DBError.self) { _ = try db.get(bytes("text")) }
        try db.put(bytes("text"), CounterMerge.operand(10))
        try db.merge(bytes("text"), CounterMerge.operand(1))
        #expect(CounterMerge.value(try db.get(bytes("text"))) == 11, "a new base heals the key")
        try db.close()
    }

    /// A merge operator that concatenates with commas and counts its calls.
    struct ListMerge: MergeOperator {
        let partials = Locked<Int>(0)
        var name: String { "ListMerge" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws -> [UInt8] {
            ((existing.map { [$0] } ?? []) + operands).map { String(decoding: $0, as: UTF8.self) }
                .joined(separator: ",").utf8.map { $0 }
        }
        func partialMerge(key: [UInt8], operands: [[UInt8]]) -> [UInt8]? {
            partials.withLock { $0 += 1 }
            return operands.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",").utf8.map { $0 }
        }
    }

    @Test func flushFoldsOperandsButNotAcrossASnapshotAndKeepsTheirOrder() throws {
        let dir = try TempDir()
        let list = ListMerge()
        let db = try DB(path: dir.sub("db"), options: Self.options(list))
        try db.put(bytes("k"), bytes("a"))
        try db.flush()
        try db.merge(bytes("k"), bytes("b"))
        try db.merge(bytes("k"), bytes("c"))
        let snapshot = db.snapshot()
        try db.merge(bytes("k"), bytes("d"))
        try db.merge(bytes("k"), bytes("e"))
        #expect(try db.get(bytes("k")) == bytes("a,b,c,d,e"))
        try db.flush()
        #expect(list.partials.withLock { $0 } == 2, "one partial merge per side of the snapshot")
        #expect(try db.get(bytes("k")) == bytes("a,b,c,d,e"))
        #expect(try db.get(bytes("k"), options: ReadOptions(snapshot: snapshot)) == bytes("a,b,c"))
        #expect(try db.scan(options: ReadOptions(snapshot: snapshot)).map(\.value) == [bytes("a,b,c")])
        try db.compactRange()
        #expect(try db.get(bytes("k")) == bytes("a,b,c,d,e"))
        #expect(try db.get(bytes("k"), options: ReadOptions(snapshot: snapshot)) == bytes("a,b,c"))
        try db.close()
    }

    @Test func aFormat5DatabaseOpensAndTakesMerges() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let backend: any IOBackend = PosixBackend()
        do {
            let db = try DB(path: path, options: Self.options())
            try db.put(bytes("t"), CounterMerge.operand(1))
            try db.flush()
            try db.put(bytes("w"), CounterMerge.operand(2))
            try db.close()
        }
        // Rewrite the MANIFEST's records as format 5 wrote them: the same
        // records, the version field 5 (format 6 adds no MANIFEST field).
        let number = try VersionFixtures.rewriteManifest(dbPath: path, backend: backend) { edits in
            #expect(edits[0].formatVersion == 6)
            edits[0].formatVersion = 5
        }
        let old = try ManifestReplay.run(path: FileNames.manifest(path, number), backend: backend, strict: true)
        #expect(old.formatVersion == 5)

        let db = try DB(path: path, options: Self.options())
        #expect(CounterMerge.value(try db.get(bytes("t"))) == 1)
        #expect(CounterMerge.value(try db.get(bytes("w"))) == 2)
        try db.merge(bytes("t"), CounterMerge.operand(10))
        try db.close()
        let now = try CurrentFile.read(dbPath: path, backend: backend)
        let replayed = try ManifestReplay.run(path: FileNames.manifest(path, now.number), backend: backend, strict: true)
        #expect(replayed.formatVersion == 6, "the writing open rewrote the MANIFEST as format 6")
        let again = try DB(path: path, options: Self.options())
        #expect(CounterMerge.value(try again.get(bytes("t"))) == 11)
        try again.close()
    }
}
