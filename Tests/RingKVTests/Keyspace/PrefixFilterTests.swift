import Glibc
import RingIO
import Testing
@testable import RingKV

/// The prefix filter (docs/KEYSPACES.md §Prefixes, docs/FORMAT.md §Prefix
/// filter block): a scan of a prefix no table holds reads no data block
/// (`DBStats.iteratorBlocksRead`, cold cache), while the same data without
/// the filter reads some; present prefixes, short keys, range deletions,
/// tables without the filter or written for another length still read
/// right.
@Suite struct PrefixFilterTests {
    /// Keys `pNNN:i` for every even NNN below 200, in several tables.
    static func fill(_ ks: Keyspace) throws {
        for table in 0..<4 {
            for n in stride(from: 0, to: 200, by: 2) {
                for i in 0..<5 {
                    try ks.put(bytes(String(format: "p%03d:%d%d", n, table, i)), Array(repeating: 0x41, count: 100))
                }
            }
            try ks.put(bytes("p"), bytes("short"))  // shorter than the prefix length
            try ks.flush()
        }
    }

    static func blocksRead(_ db: DB, _ body: () throws -> Void) rethrows -> UInt64 {
        let before = db.stats().iteratorBlocksRead
        try body()
        return db.stats().iteratorBlocksRead - before
    }

    @Test func absentPrefixReadsNoDataBlock() throws {
        let dir = try TempDir()
        var options = openOptions()
        options.blockSizeBytes = 1024
        do {
            let db = try DB(path: dir.sub("db"), options: options)
            try Self.fill(try db.keyspace("filtered", options: KeyspaceOptions(prefixLength: 4)))
            try Self.fill(try db.keyspace("plain"))
            try db.close()
        }
        let db = try DB(path: dir.sub("db"), options: options)
        defer { try? db.close() }
        let filtered = try db.existingKeyspace("filtered")
        let plain = try db.existingKeyspace("plain")
        #expect(filtered.stats().files > 0 && plain.stats().files > 0)
        let cold = ReadOptions(fillCache: false)

        for absent in ["p001", "p101", "p197", "p0011", "p101:"] {
            let filteredReads = try Self.blocksRead(db) { () throws in
                #expect(try filtered.scan(prefix: bytes(absent), options: cold).isEmpty)
                #expect(try filtered.scan(prefix: bytes(absent), reverse: true, options: cold).isEmpty)
                let it = try filtered.makeIterator(options: ReadOptions(prefix: bytes(absent), fillCache: false))
                try it.seekToFirst(); #expect(!it.isValid)
                try it.seek(to: bytes(absent)); #expect(!it.isValid)
                try it.seek(forPrev: bytes(absent + "~")); #expect(!it.isValid)
            }
            #expect(filteredReads == 0, "prefix \(absent): \(filteredReads) data blocks read")
            let plainReads = try Self.blocksRead(db) { () throws in
                #expect(try plain.scan(prefix: bytes(absent), options: cold).isEmpty)
            }
            #expect(plainReads > 0, "without the filter the bounds alone read blocks (\(plainReads))")
        }
        for present in ["p000", "p100", "p198:3", "p"] {
            let a = try filtered.scan(prefix: bytes(present), options: cold)
            let b = try plain.scan(prefix: bytes(present), options: cold)
            #expect(!a.isEmpty && a.map(\.key) == b.map(\.key), "prefix \(present): \(a.count) vs \(b.count)")
        }
        #expect(try filtered.scan(prefix: bytes("p100")).count == 20)
        // Bounds wider than one prefix never skip by it: lower "p001" (absent)
        // with upper "p004" holds p002's rows, and without an upper bound
        // everything from p001 on.
        #expect(try filtered.scan(from: bytes("p001"), to: bytes("p004")).count == 20)
        let fromP001 = try plain.scan(from: bytes("p001")).count
        #expect(try filtered.scan(from: bytes("p001")).count == fromP001)
        #expect(try filtered.scan(from: bytes("p001:"), to: bytes("p002")).isEmpty)
        #expect(try filtered.get(bytes("p")) == bytes("short"))
    }

    @Test func rangeDeletionInAFilteredTableStillHidesOlderKeys() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        defer { try? db.close() }
        let ks = try db.keyspace("k", options: KeyspaceOptions(prefixLength: 3))
        for i in 0..<50 { try ks.put(bytes(String(format: "abc%02d", i)), bytes("v")) }
        try ks.flush()
        // A newer table holding only a tombstone over the prefix and keys
        // of another prefix: its filter has no "abc", the older table's has.
        try ks.deleteRange(from: bytes("abc"), to: bytes("abd"))
        try ks.put(bytes("xyz"), bytes("v"))
        try ks.flush()
        #expect(try ks.scan(prefix: bytes("abc")).isEmpty)
        #expect(try ks.scan(prefix: bytes("xyz")).count == 1)
        // Both tables carry a prefix filter, and `kvctl verify`'s check
        // re-reads it (CRC and encoding).
        let backend = try TableTestSupport.makeBackend()
        var filtered = 0
        for name in try FileSystem.listDirectory(dir.sub("db")) where name.hasSuffix(".sst") {
            let reader = try TableReader.open(file: try File.open(dir.sub("db") + "/" + name, .read),
                                              fileNumber: 1, backend: backend)
            if reader.prefixFilter?.length == 3 { filtered += 1 }
            try reader.verifyChecksums()
        }
        #expect(filtered == 2)
    }

    @Test func tablesWithoutOrWithAnotherFilterStillScan() throws {
        let dir = try TempDir()
        var expected: [[UInt8]] = []
        for (round, length) in [nil, 4, 2, 6].enumerated() {
            let db = try DB(path: dir.sub("db"), options: openOptions())
            let ks = try db.keyspace("k", options: KeyspaceOptions(prefixLength: length.map { $0 }))
            for i in 0..<20 {
                let key = bytes(String(format: "pre%d-%02d", round, i))
                try ks.put(key, bytes("v")); expected.append(key)
            }
            try ks.flush()
            for r in 0...round {
                let got = try ks.scan(prefix: bytes("pre\(r)")).map(\.key)
                #expect(got == expected.filter { $0.starts(with: bytes("pre\(r)")) }, "round \(round), prefix pre\(r)")
                #expect(try ks.scan(prefix: bytes("pre\(r)-1")).count == 10, "round \(round)")
            }
            #expect(try ks.scan(prefix: bytes("pre9")).isEmpty)
            try db.close()
        }
    }

    @Test func propertiesCarryThePrefixFilterHandle() throws {
        var p = TableProperties()
        p.smallestKey = [1]; p.largestKey = [2]
        p.prefixFilterHandle = BlockHandle(offset: 4096, size: 77)
        p.prefixLength = 8
        let decoded = try p.encode().withUnsafeBytes { try TableProperties.decode($0) }
        #expect(decoded.prefixFilterHandle == p.prefixFilterHandle && decoded.prefixLength == 8)
        #expect(decoded.rangeDeletionHandle == nil, "three zeros hold the range deletion block's place")
        p.rangeDeletionHandle = BlockHandle(offset: 0, size: 9); p.rangeDeletionCount = 1
        let both = try p.encode().withUnsafeBytes { try TableProperties.decode($0) }
        #expect(both == p)
        p.prefixFilterHandle = nil; p.prefixLength = 0
        let old = try p.encode().withUnsafeBytes { try TableProperties.decode($0) }
        #expect(old == p && old.prefixFilterHandle == nil)
    }
}
