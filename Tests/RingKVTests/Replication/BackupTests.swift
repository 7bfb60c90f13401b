import Glibc
import RingIO
import Synchronization
import Testing
@testable import RingKV

/// Incremental backups: a consistent point under writes, incremental
/// copying, damage named by verify and refused by restore, list, delete,
/// overwrite rules.
@Suite struct BackupTests {
    static func key(_ i: Int) -> [UInt8] {
        let digits = String(i)
        return Array(("key" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits).utf8)
    }

    @Test func backupUnderWritesRestoresToAPrefixHoldingEveryAcknowledgedWrite() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions(memtableBytes: 128 << 10))
        defer { try? db.close() }
        let acked = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let writer = BackupTestThread {
            var i = 0
            while !stop.load(ordering: .relaxed) {
                do { try db.put(Self.key(i), [UInt8](repeating: UInt8(i & 0xff), count: 200)) } catch { return }
                i += 1
                acked.store(i, ordering: .releasing)
            }
        }
        while acked.load(ordering: .acquiring) < 3000 { usleep(1000) }
        let before = acked.load(ordering: .acquiring)
        let info = try db.backup(to: dir.sub("backups"))
        stop.store(true, ordering: .relaxed)
        writer.join()
        try DB.restore(from: dir.sub("backups"), id: info.id, to: dir.sub("restored"))
        let restored = try DB(path: dir.sub("restored"), options: openOptions())
        defer { try? restored.close() }
        #expect(restored.latestSequence == info.sequence)
        // Key i took sequence i + 1: the restored database holds exactly
        // keys 0 ..< sequence, which covers every write acknowledged
        // before the call.
        let count = Int(info.sequence)
        #expect(count >= before)
        let rows = try restored.scan()
        #expect(rows.count == count)
        #expect(rows.first?.key == Self.key(0))
        #expect(rows.last?.key == Self.key(count - 1))
    }

    @Test func secondBackupAfterTenPercentNewDataCopiesAtMostTwentyPercent() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 256 << 10)
        options.l0CompactionTrigger = 64
        options.l0SlowdownTrigger = 64
        options.l0StopTrigger = 64
        let db = try DB(path: dir.sub("db"), options: options)
        defer { try? db.close() }
        var n = 0
        func write(_ count: Int) throws {
            for _ in 0..<count {
                try db.put(Self.key(n), [UInt8](repeating: UInt8(n & 0xff), count: 300))
                n += 1
                if n % 2000 == 0 { try db.flush() }
            }
            try db.flush()
        }
        try write(20_000)
        let first = try db.backup(to: dir.sub("backups"))
        try write(2000)
        let second = try db.backup(to: dir.sub("backups"))
        print("backup 1 copied \(first.bytesCopied) of \(first.totalBytes); backup 2 copied \(second.bytesCopied) "
              + "of \(second.totalBytes)")
        #expect(first.bytesCopied >= first.totalBytes * 9 / 10)
        #expect(second.bytesCopied * 5 <= second.totalBytes, "the second backup copied more than 20 %")
        #expect(try DB.backups(in: dir.sub("backups")).map(\.id) == [first.id, second.id])
        try DB.restore(from: dir.sub("backups"), id: second.id, to: dir.sub("restored"))
        let restored = try DB(path: dir.sub("restored"), options: openOptions())
        defer { try? restored.close() }
        #expect(try restored.scan().count == n)
        #expect(restored.latestSequence == second.sequence)
    }

    @Test func damagedBackupIsNamedByVerifyAndRefusedByRestore() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions(memtableBytes: 64 << 10))
        defer { try? db.close() }
        for i in 0..<3000 { try db.put(Self.key(i), [UInt8](repeating: 1, count: 100)) }
        try db.flush()
        let first = try db.backup(to: dir.sub("backups"))
        for i in 3000..<3500 { try db.put(Self.key(i), [UInt8](repeating: 2, count: 100)) }
        let second = try db.backup(to: dir.sub("backups"))
        try DB.verifyBackup(in: dir.sub("backups"), id: first.id)
        // Restoring onto an existing database is refused unless asked.
        try FileSystem.createDirectory(dir.sub("existing"))
        #expect(throws: DBError.alreadyExists(path: dir.sub("existing"))) {
            try DB.restore(from: dir.sub("backups"), id: second.id, to: dir.sub("existing"))
        }
        try DB.restore(from: dir.sub("backups"), id: second.id, to: dir.sub("existing"), overwrite: true)
        // Damage one byte of a shared table.
        let shared = dir.sub("backups") + "/shared"
        guard let victim = try FileSystem.listDirectory(shared).sorted().first else {
            Issue.record("no shared table")
            return
        }
        var bytes = try readWholeFile(shared + "/" + victim)
        bytes[bytes.count / 2] ^= 0x40
        try writeWholeFile(shared + "/" + victim, bytes)
        var named: String?
        do { try DB.verifyBackup(in: dir.sub("backups"), id: first.id) } catch DBError.backupCorrupted(let path, _) {
            named = path
        }
        #expect(named == shared + "/" + victim)
        #expect(throws: DBError.self) { try DB.restore(from: dir.sub("backups"), id: first.id, to: dir.sub("r1")) }
        #expect(!FileSystem.exists(dir.sub("r1")))
        #expect(throws: DBError.backupNotFound(path: dir.sub("backups"), id: 9)) {
            try DB.verifyBackup(in: dir.sub("backups"), id: 9)
        }
        // Delete: the meta goes; the other backup's files stay.
        try DB.deleteBackup(in: dir.sub("backups"), id: first.id)
        #expect(try DB.backups(in: dir.sub("backups")).map(\.id) == [second.id])
    }
}

/// A joinable thread for the tests' writers.
final class BackupTestThread: Sendable {
    private let handle: Mutex<pthread_t?>
    init(_ body: @escaping @Sendable () -> Void) {
        handle = Mutex(nil)
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        var h = pthread_t()
        let raw = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&h, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, raw)
        handle.withLock { $0 = h }
    }
    func join() {
        if let h = handle.withLock({ $0 }) { pthread_join(h, nil) }
    }
}
