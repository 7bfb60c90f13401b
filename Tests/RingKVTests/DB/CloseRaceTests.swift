import Glibc
import RingIO
import Synchronization
import Testing
@testable import RingKV

/// Reads racing `close()` (issue #15 item 9): a get that began before
/// close must not reopen tables into the closed database's table cache
/// (leaking their descriptors) nor read after the LOCK was released.
@Suite struct CloseRaceTests {
    /// Descriptors of this process open on files under `dir`.
    static func openDescriptors(under dir: String) -> Int {
        guard let names = try? FileSystem.listDirectory("/proc/self/fd") else { return 0 }
        var count = 0
        for name in names {
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
            guard n > 0 else { continue }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix(dir + "/") { count += 1 }
        }
        return count
    }

    @Test func readsRacingCloseLeaveNoTableOpen() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        var options = openOptions(memtableBytes: 32 << 10)
        options.l0CompactionTrigger = 100
        options.l0SlowdownTrigger = 200
        options.l0StopTrigger = 300
        do {
            let db = try DB(path: path, options: options)
            for table in 0..<24 {
                for i in 0..<40 { try db.put(bytes("key-\(i)-\(table)"), bytes("value-\(table)")) }
                try db.flush()
            }
            try db.close()
        }
        for round in 0..<8 {
            let db = try DB(path: path, options: options)
            let started = Atomic<Int>(0)
            var threads: [BackgroundThread] = []
            for t in 0..<4 {
                threads.append(BackgroundThread {
                    var rng = SeededRandom(seed: UInt64(round * 10 + t))
                    started.add(1, ordering: .relaxed)
                    while true {
                        // A key missing from every table: each get walks all
                        // 24 L0 tables, opening each one not yet open.
                        let key = bytes("key-5-absent\(Int.random(in: 0..<1000, using: &rng))")
                        do { _ = try db.get(key) } catch { return }
                    }
                })
            }
            while started.load(ordering: .relaxed) < 4 { usleep(100) }
            usleep(UInt32(200 * (round + 1)))
            try db.close()
            for thread in threads { thread.join() }
            #expect(db.impl.tableCache.openCount == 0, "round \(round): tables reopened after close")
            #expect(Self.openDescriptors(under: path) == 0, "round \(round): descriptors left open after close")
        }
    }
}
