import Glibc
import RingIO
import Testing
@testable import RingKV

/// Crash states and damaged directories that `DB.init` must open, or refuse
/// with an error naming the file (docs/ARCHITECTURE.md §Failures). Each
/// test edits the files of a closed database as a crash or a user would.
@Suite struct RecoveryTests {
    static func names(_ path: String) throws -> [String] { try FileSystem.listDirectory(path).sorted() }

    static func onlyFile(_ path: String, suffix: String) throws -> String {
        let matches = try names(path).filter { $0.hasSuffix(suffix) }
        try #require(matches.count == 1, "expected one \(suffix) file, found \(matches)")
        return path + "/" + matches[0]
    }

    // MARK: - Issue #15 item 1: out-of-order page tear in the WAL

    /// r1 is synced and ends inside the first 4 KiB page; r2 is not synced
    /// and runs from there into the next pages. A power loss that wrote
    /// r2's later pages but not the first page leaves a zero hole where r2
    /// begins, with r2's bytes after it. Only unsynced data was damaged: the
    /// default open must succeed with r1 and without r2.
    @Test func walPageTornOutOfOrderOpensWithTheSyncedPrefix() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        try db.put(bytes("r1"), [UInt8](repeating: 1, count: 3000), options: WriteOptions(sync: true))
        try db.put(bytes("r2"), [UInt8](repeating: 2, count: 6000), options: WriteOptions(sync: false))
        db.impl.abandonForCrashTest()
        let log = try Self.onlyFile(path, suffix: ".log")
        var data = try readWholeFile(log)
        // Where r1's record ends: header + batch header + op + key + value.
        let r1End = LogRecord.headerSize + 12 + 1 + 1 + 2 + 2 + 3000
        #expect(data[r1End] != 0 && data[4096 + 100] == 2, "r2 should follow r1 and cross the page")
        for i in r1End..<4096 { data[i] = 0 }
        try writeWholeFile(log, data)

        let reopened = try DB(path: path, options: openOptions())
        #expect(try reopened.get(bytes("r1")) == [UInt8](repeating: 1, count: 3000))
        #expect(try reopened.get(bytes("r2")) == nil)
        // Dropped, but not silently: counted, and the bytes kept in lost/.
        let stats = reopened.stats()
        #expect(stats.recoveryDrops == 1 && stats.lostFiles == 1)
        try reopened.close()
        let lost = LostFiles.list(dbPath: path)
        try #require(lost.count == 1)
        // From the hole to the last non-zero byte: what the log held there.
        #expect(lost[0].name == LostFiles.name(source: log, offset: UInt64(r1End)))
        let kept = try readWholeFile(LostFiles.directory(path) + "/" + lost[0].name)
        let lastNonZero = try #require(data.lastIndex { $0 != 0 })
        let same = kept == Array(data[r1End...lastNonZero])
        #expect(same, "lost/ holds \(kept.count) bytes, not the \(lastNonZero + 1 - r1End) dropped")
        #expect(stats.recoveryDroppedBytes == UInt64(kept.count))
    }

    /// Issue #14's reproduction: one synced batch of 50 keys, one byte
    /// flipped inside that last WAL record. Nothing later proves it was
    /// synced, so it is dropped like a torn write — but counted in stats()
    /// and kept under lost/, byte for byte.
    @Test func damagedLastWALRecordIsKeptInLostAndCounted() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        var batch = WriteBatch()
        for i in 0..<50 { batch.put(bytes("key\(i < 10 ? "00" : "0")\(i)"), bytes("value\(i)")) }
        try db.write(batch, options: WriteOptions(sync: true))
        try db.close()
        let log = try Self.onlyFile(path, suffix: ".log")
        var data = try readWholeFile(log)
        let recordEnd = try #require(data.lastIndex { $0 != 0 }) + 1
        data[recordEnd / 2] ^= 0x01
        try writeWholeFile(log, data)

        let reopened = try DB(path: path, options: openOptions())
        #expect(try reopened.get(bytes("key010")) == nil)
        let stats = reopened.stats()
        #expect(stats.recoveryDrops == 1)
        #expect(stats.recoveryDroppedBytes == UInt64(recordEnd))
        #expect(reopened.impl.recovery.drops.first?.tail.reason == "record checksum mismatch")
        try reopened.close()
        let lost = LostFiles.list(dbPath: path)
        #expect(lost.map(\.name) == [LostFiles.name(source: log, offset: 0)])
        let same = try readWholeFile(LostFiles.directory(path) + "/" + lost[0].name) == Array(data[0..<recordEnd])
        #expect(same, "lost/ does not hold the dropped record")
        // Reopening again drops nothing new and keeps the copy.
        let again = try DB(path: path, options: openOptions())
        #expect(again.stats().recoveryDrops == 0 && again.stats().lostFiles == 1)
        try again.close()
    }

    /// A failed open (here: a damaged record in the middle of the log,
    /// before data a later sync proved durable) writes nothing: no new
    /// MANIFEST, CURRENT unchanged, no table.
    @Test func aFailedOpenLeavesNoNewManifestBehind() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        for i in 0..<20 { try db.put(bytes("key\(i)"), bytes("value\(i)"), options: WriteOptions(sync: true)) }
        try db.close()
        let log = try Self.onlyFile(path, suffix: ".log")
        var data = try readWholeFile(log)
        data[40] ^= 0xFF  // inside the first record; 19 synced records follow
        try writeWholeFile(log, data)
        let before = try Self.names(path)
        let current = try readWholeFile(path + "/CURRENT")
        for _ in 0..<3 {
            #expect { try DB(path: path, options: openOptions()) } throws: { error in
                guard case DBError.corruption(let file, _, _) = error else { return false }
                return file == log
            }
        }
        #expect(try Self.names(path) == before)
        #expect(try readWholeFile(path + "/CURRENT") == current)
    }

    // MARK: - Issue #15 item 2: missing CURRENT beside existing data

    /// Without CURRENT but with the MANIFEST, logs and tables still there,
    /// `createIfMissing` must not start an empty database over them.
    @Test func missingCurrentBesideDataIsRefusedNotRecreated() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        for i in 0..<100 { try db.put(bytes("key\(i)"), bytes("value\(i)")) }
        try db.flush()
        try db.put(bytes("k1"), bytes("v1"), options: WriteOptions(sync: true))
        try db.close()
        try FileSystem.remove(path + "/CURRENT")
        let before = try Self.names(path)
        #expect { try DB(path: path, options: openOptions()) } throws: { error in
            guard case DBError.corruption(let file, _, let reason) = error else { return false }
            return file == FileNames.current(path) && reason.contains("MANIFEST-")
        }
        #expect(try Self.names(path) == before, "the refused open changed the directory")
        // Restoring CURRENT brings everything back.
        let manifest = try #require(before.first { $0.hasPrefix("MANIFEST-") })
        try writeWholeFile(path + "/CURRENT", bytes(manifest + "\n"))
        let reopened = try DB(path: path, options: openOptions())
        #expect(try reopened.get(bytes("k1")) == bytes("v1"))
        #expect(try reopened.get(bytes("key42")) == bytes("value42"))
        try reopened.close()
    }

    // MARK: - Issue #15 item 3: a table the MANIFEST names is missing

    @Test func missingTableIsRefusedAtOpenNamingTheFile() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let db = try DB(path: path, options: openOptions())
        for i in 0..<100 { try db.put(bytes("key\(i)"), bytes("value\(i)")) }
        try db.flush()
        try db.close()
        let table = try Self.onlyFile(path, suffix: ".sst")
        try FileSystem.remove(table)
        #expect { try DB(path: path, options: openOptions()) } throws: { error in
            guard case DBError.corruption(_, _, let reason) = error else { return false }
            return reason.contains(FileSystem.baseName(table))
        }
    }
}
