import RingIO
import Glibc
import Synchronization
import Testing
@testable import RingKV

/// Eight threads of mixed puts, deletes, range deletions, gets, scans,
/// multiGets and snapshots while the memtable is small enough that flushes run all the
/// time. Run under ThreadSanitizer by tools/test-tsan. Each thread owns its
/// key range, so it can check its own reads exactly.
@Suite struct ConcurrencyStressTests {
    final class Failures: Sendable {
        let messages = Locked<[String]>([])
        func record(_ s: String) { messages.withLock { if $0.count < 20 { $0.append(s) } } }
    }

    @Test func mixedOperationsFromEightThreadsStayConsistent() throws {
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 48 << 10)
        options.walBufferSizeBytes = 64 << 10
        let db = try DB(path: dir.sub("db"), options: options)
        let failures = Failures()
        let seed = testSeed()
        let operationsPerThread = Int(getenv("RINGKV_STRESS_OPS").map { String(cString: $0) } ?? "") ?? 3000
        var threads: [BackgroundThread] = []
        for t in 0..<8 {
            threads.append(BackgroundThread.spawn {
                var rng = SeededRandom(seed: seed &+ UInt64(t))
                var mine: [Int: [UInt8]] = [:]
                func key(_ i: Int) -> [UInt8] { bytes("t\(t)-\(i)") }
                do {
                    for step in 0..<operationsPerThread {
                        let i = Int.random(in: 0..<200, using: &rng)
                        switch Int.random(in: 0..<10, using: &rng) {
                        case 0...3:
                            let v = bytes("v\(step)")
                            try db.put(key(i), v, options: WriteOptions(sync: step % 50 == 0))
                            mine[i] = v
                        case 4 where Bool.random(using: &rng):
                            try db.delete(key(i))
                            mine[i] = nil
                        case 4:
                            // A range deletion inside this thread's keys
                            // (bytewise: "t0-1" .. "t0-13" covers "t0-10" too).
                            var from = key(i), to = key(i + Int.random(in: 0...20, using: &rng))
                            if compareBytes(from, to) > 0 { swap(&from, &to) }
                            try db.deleteRange(from: from, to: to)
                            for j in mine.keys where compareBytes(key(j), from) >= 0 && compareBytes(key(j), to) < 0 {
                                mine[j] = nil
                            }
                        case 5...6:
                            if try db.get(key(i)) != mine[i] { failures.record("t\(t) step \(step): get key \(i)") }
                        case 7:
                            let keys = (0..<8).map { _ in Int.random(in: 0..<200, using: &rng) }
                            let got = try db.multiGet(keys.map(key))
                            if got != keys.map({ mine[$0] }) { failures.record("t\(t) step \(step): multiGet") }
                        case 8:
                            let rows = try db.scan(from: bytes("t\(t)-"), to: bytes("t\(t)."), limit: 1000)
                            if rows.count != mine.count { failures.record("t\(t) step \(step): scan \(rows.count) vs \(mine.count)") }
                        default:
                            let snap = db.snapshot()
                            let before = try db.get(key(i), options: ReadOptions(snapshot: snap))
                            try db.put(key(i), bytes("after"))
                            if try db.get(key(i), options: ReadOptions(snapshot: snap)) != before {
                                failures.record("t\(t) step \(step): snapshot moved")
                            }
                            mine[i] = bytes("after")
                        }
                        if t == 0 && step % 500 == 499 { try db.flush() }
                    }
                } catch {
                    failures.record("t\(t): \(error)")
                }
            })
        }
        for thread in threads { thread.join() }
        let messages = failures.messages.withLock { $0 }
        #expect(messages.isEmpty, "seed \(seed): \(messages)")
        #expect(db.stats().flushes > 0)
        try db.close()
    }
}
