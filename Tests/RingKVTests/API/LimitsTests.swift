import Glibc
import RingIO
import RingIOFaults
import Testing
@testable import RingKV

/// Every limit is checked with a clear error (docs/ARCHITECTURE.md
/// §Failures and limits): key, value and batch size on each write, option values at
/// open; open table descriptors stay within `maxOpenFiles`; memtables
/// never exceed one active plus one flushing — writers stall instead.
@Suite struct LimitsTests {

    // MARK: - Write sizes

    @Test func keyOverTheLimitIsRejectedAndNothingIsWritten() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        let key = [UInt8](repeating: 0x6b, count: Options.maxKeySizeBytes + 1)
        #expect(throws: DBError.tooLarge(.key, sizeBytes: Options.maxKeySizeBytes + 1)) { try db.put(key, [1]) }
        #expect(DBError.tooLarge(.key, sizeBytes: Options.maxKeySizeBytes + 1).description
                == "key of \(Options.maxKeySizeBytes + 1) bytes exceeds the \(Options.maxKeySizeBytes)-byte limit")
        let longest = [UInt8](repeating: 0x6b, count: Options.maxKeySizeBytes)
        try db.put(longest, [1])
        #expect(try db.get(longest) == [1])
        #expect(try db.get(key) == nil)
        try db.close()
    }

    @Test func valueOverTheLimitIsRejectedAndNothingIsWritten() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        var batch = WriteBatch()
        batch.put("small", "kept out too")
        batch.put(bytes("big"), [UInt8](repeating: 0x76, count: Options.maxValueSizeBytes + 1))
        #expect(throws: DBError.tooLarge(.value, sizeBytes: Options.maxValueSizeBytes + 1)) { try db.write(batch) }
        #expect { try db.write(batch) } throws: {
            "\($0)".contains("exceeds the \(Options.maxValueSizeBytes)-byte limit")
        }
        #expect(try db.get("small") == nil, "a rejected batch must write nothing")
        try db.close()
    }

    @Test func batchOverTheLimitIsRejectedWithTheLimitNamed() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        // Four values of the largest size: every value is allowed, the
        // batch (256 MiB of values plus framing) is not.
        let value = [UInt8](repeating: 0x76, count: Options.maxValueSizeBytes)
        var batch = WriteBatch()
        for i in 0..<4 { batch.put(bytes("key\(i)"), value) }
        #expect(batch.approximateSizeBytes > Options.maxBatchSizeBytes)
        #expect(throws: DBError.tooLarge(.batch, sizeBytes: batch.approximateSizeBytes)) { try db.write(batch) }
        #expect(DBError.SizeLimit.batch.maxBytes == Options.maxBatchSizeBytes)
        #expect(try db.get("key0") == nil)
        // Three fit.
        var smaller = WriteBatch()
        for i in 0..<3 { smaller.put(bytes("key\(i)"), value) }
        try smaller.validate()
        try db.close()
    }

    @Test func batchLimitFitsTheWALRecordLengthField() {
        // docs/FORMAT.md §Log records: the payload length is a fixed32.
        #expect(UInt64(Options.maxBatchSizeBytes) + UInt64(LogRecord.headerSize) < UInt64(UInt32.max))
        #expect(Options.maxBatchSizeBytes >= Options.maxValueSizeBytes + Options.maxKeySizeBytes + 32)
    }

    // MARK: - Options at open

    /// Options with the named field set just outside its range; a second
    /// case of a field is spelled `field+`.
    static func invalidOptions(_ name: String) -> Options {
        var o = openOptions()
        switch name {
        case "memtableSizeBytes": o.memtableSizeBytes = 0
        case "blockSizeBytes": o.blockSizeBytes = 0
        case "blockSizeBytes+": o.blockSizeBytes = Options.maxBlockSizeBytes + 1
        case "bloomBitsPerKey": o.bloomBitsPerKey = -1
        case "blockCacheSizeBytes": o.blockCacheSizeBytes = -1
        case "l0CompactionTrigger": o.l0CompactionTrigger = 0
        case "l0SlowdownTrigger": o.l0SlowdownTrigger = 0
        case "l0StopTrigger": o.l0StopTrigger = -3
        case "l1TargetSizeBytes": o.l1TargetSizeBytes = 0
        case "levelSizeMultiplier": o.levelSizeMultiplier = 0
        case "targetFileSizeBytes": o.targetFileSizeBytes = 0
        case "backgroundJobs": o.backgroundJobs = 0
        case "maxOpenFiles": o.maxOpenFiles = Options.minOpenFiles - 1
        case "walBufferCount": o.walBufferCount = 0
        case "walBufferSizeBytes": o.walBufferSizeBytes = 4095
        case "groupCommitMaxDelayMicros": o.groupCommitMaxDelayMicros = -1
        case "groupCommitMaxDelayMicros+": o.groupCommitMaxDelayMicros = Int.max
        case "groupCommitSpinMicros": o.groupCommitSpinMicros = -1
        case "readPollMicros": o.readPollMicros = -1
        case "readPollMicros+": o.readPollMicros = 1_000_001
        default: Issue.record("no invalid value for \(name)")
        }
        return o
    }

    @Test(arguments: ["memtableSizeBytes", "blockSizeBytes", "blockSizeBytes+", "bloomBitsPerKey",
                      "blockCacheSizeBytes", "l0CompactionTrigger", "l0SlowdownTrigger", "l0StopTrigger",
                      "l1TargetSizeBytes", "levelSizeMultiplier", "targetFileSizeBytes", "backgroundJobs",
                      "maxOpenFiles", "walBufferCount", "walBufferSizeBytes", "groupCommitMaxDelayMicros",
                      "groupCommitMaxDelayMicros+", "groupCommitSpinMicros", "readPollMicros", "readPollMicros+"])
    func invalidOptionIsRefusedAtOpenNamingIt(_ name: String) throws {
        let dir = try TempDir()
        let field = name.hasSuffix("+") ? String(name.dropLast()) : name
        #expect { try DB(path: dir.sub("db"), options: Self.invalidOptions(name)) } throws: { error in
            guard case DBError.invalidOption(let option, let value, _) = error else { return false }
            return option == field && !value.isEmpty && "\(error)".contains("Options.\(field) must be")
        }
        #expect(!FileSystem.exists(dir.sub("db")), "a refused open must not create anything")
    }

    @Test func smallestAcceptedValuesOpen() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 1)
        options.blockSizeBytes = 1
        options.maxOpenFiles = Options.minOpenFiles
        options.walBufferCount = 1
        options.walBufferSizeBytes = 4096
        options.backgroundJobs = 1
        let db = try DB(path: dir.sub("db"), options: options)
        for i in 0..<20 { try db.put("k\(i)", "v\(i)") }
        for i in 0..<20 { #expect(try db.get("k\(i)") == "v\(i)") }
        try db.close()
    }

    // MARK: - Open files

    /// Descriptors this process holds on table files of `dbPath`.
    static func openTableDescriptors(_ dbPath: String) -> Int {
        guard let names = try? FileSystem.listDirectory("/proc/self/fd") else { return -1 }
        var count = 0
        var buffer = [CChar](repeating: 0, count: 4096)
        for name in names {
            let n = readlink("/proc/self/fd/" + name, &buffer, buffer.count - 1)
            guard n > 0 else { continue }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix(dbPath + "/") && target.hasSuffix(".sst") { count += 1 }
        }
        return count
    }

    @Test func tableCacheKeepsOpenDescriptorsWithinMaxOpenFiles() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions()
        // Every flush stays its own L0 table.
        options.l0CompactionTrigger = 1000
        options.l0SlowdownTrigger = 1000
        options.l0StopTrigger = 1000
        let tables = 40, keysPerTable = 4
        let db = try DB(path: path, options: options)
        for t in 0..<tables {
            for k in 0..<keysPerTable { try db.put("t\(t)-k\(k)", "value \(t) \(k)") }
            try db.flush()
        }
        #expect(db.stats().levels[0].files == tables)
        try db.close()

        options.maxOpenFiles = Options.minOpenFiles
        let bounded = try DB(path: path, options: options)
        var most = 0
        for t in 0..<tables {
            for k in 0..<keysPerTable {
                #expect(try bounded.get("t\(t)-k\(k)") == "value \(t) \(k)")
                most = max(most, Self.openTableDescriptors(path))
            }
        }
        #expect(most >= 1 && most <= Options.minOpenFiles,
                "\(most) table descriptors open with maxOpenFiles \(Options.minOpenFiles)")
        try bounded.close()

        // The count is real: with room for all, every table stays open.
        options.maxOpenFiles = 1000
        let unbounded = try DB(path: path, options: options)
        for t in 0..<tables { _ = try unbounded.get("t\(t)-k0") }
        #expect(Self.openTableDescriptors(path) == tables)
        try unbounded.close()
        #expect(Self.openTableDescriptors(path) == 0)
    }

    // MARK: - Memtables

    @Test func writersStallInsteadOfGrowingAThirdMemtable() throws {
        let dir = try TempDir()
        let plan = FaultPlan()
        // A slow disk for tables: every table fsync takes 150 ms, so the
        // flush of a full memtable is still running when the next one fills.
        plan.add(.init(kind: .fsync, nth: 1, delayMillis: 150, sticky: true, pathContains: ".sst"))
        let memtableBytes = 64 << 10
        var options = openOptions(memtableBytes: memtableBytes)
        options.faultPlan = plan
        let db = try DB(path: dir.sub("db"), options: options)
        let value = String(repeating: "v", count: 300)
        var most = 0
        for i in 0..<1200 {
            try db.put("key\(i)", value)
            let s = db.stats()
            most = max(most, s.memtableBytes + s.immutableMemtableBytes)
        }
        let stats = db.stats()
        #expect(stats.stalls >= 1, "no writer stalled")
        #expect(stats.stallMicros >= 1000)
        // One active memtable plus one flushing, each a batch past full at
        // most (and its arena rounding).
        #expect(most <= 2 * memtableBytes + 64 << 10, "memtables held \(most) bytes")
        for i in stride(from: 0, to: 1200, by: 97) { #expect(try db.get("key\(i)") == value) }
        try db.close()
    }
}
