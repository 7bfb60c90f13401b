import Glibc
import RingIO
import RingKV
import Synchronization

/// A database in a temporary directory, removed again by `close()`.
final class Fixture: Sendable {
    let db: DB
    let path: String
    /// Keys loaded by `load(records:)`, in record order.
    let keys: [[UInt8]]

    /// `incompressible`: random value bytes, so tables are as large as the
    /// data (a constant value compresses to almost nothing and every block
    /// would sit in even a tiny block cache).
    init(options: Options = Options(), records: Int = 0, valueSizeBytes: Int = 100, flush: Bool = true,
         incompressible: Bool = false) throws {
        path = try FileSystem.makeTemporaryDirectory(prefix: "ringkv-bench")
        var options = options
        options.createIfMissing = true
        db = try DB(path: path + "/db", options: options)
        keys = (0..<records).map { Fixture.key($0) }
        if records > 0 {
            let constant = [UInt8](repeating: 0x61, count: valueSizeBytes)
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            var batch = WriteBatch()
            for (i, key) in keys.enumerated() {
                var value = constant
                if incompressible {
                    for j in value.indices {
                        state ^= state << 13
                        state ^= state >> 7
                        state ^= state << 17
                        value[j] = UInt8(truncatingIfNeeded: state)
                    }
                }
                batch.put(key, value)
                if i % 1000 == 999 {
                    try db.write(batch)
                    batch = WriteBatch()
                }
            }
            try db.write(batch)
            if flush { try db.flush() }
        }
    }

    /// Fixed-width keys so they sort in record order.
    static func key(_ i: Int) -> [UInt8] {
        let digits = String(i)
        return Array(("key" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits).utf8)
    }

    /// Rewrites the digits of a `key(_:)` in place to those of `n`
    /// (allocation-free: the put benchmarks count mallocs).
    static func setDigits(of key: inout [UInt8], to n: Int) {
        var n = n
        for i in stride(from: key.count - 1, through: 3, by: -1) {
            key[i] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        }
    }

    func close() {
        try? db.close()
        try? FileSystem.removeTree(path)
    }
}

/// Hands the fixture made in a benchmark's setup to its teardown.
final class FixtureSlot: Sendable {
    private let fixture = Mutex<Fixture?>(nil)

    func keep(_ f: Fixture) -> Fixture {
        fixture.withLock { $0 = f }
        return f
    }

    func close() {
        fixture.withLock { f in
            f?.close()
            f = nil
        }
    }
}

/// xorshift64*: cheap key picks inside measured loops.
struct PickRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }

    /// Seeded from the clock: the benchmark body runs once per sample, and a
    /// fixed seed would pick the same keys every sample (all cache hits).
    static func fresh() -> PickRandom {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return PickRandom(seed: UInt64(ts.tv_sec) &* 1_000_000_007 &+ UInt64(ts.tv_nsec))
    }
    mutating func below(_ n: Int) -> Int {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return Int((state &* 0x2545_F491_4F6C_DD1D) % UInt64(n))
    }
}

/// Runs `body(index)` on `count` new OS threads and waits for all of them.
/// (DispatchQueue.concurrentPerform would cap the width at the core count,
/// and group commit is about many writers waiting at once.)
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job: Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) {
            self.body = body
            self.index = index
        }
    }
    var handles: [pthread_t] = []
    for index in 0..<count {
        let job = Unmanaged.passRetained(Job(body, index)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            let job = Unmanaged<Job>.fromOpaque(raw).takeRetainedValue()
            job.body(job.index)
            return nil
        }, job)
        if rc == 0 {
            handles.append(handle)
        } else {
            Unmanaged<Job>.fromOpaque(job).release()
            body(index)  // no thread left: run it here
        }
    }
    for handle in handles { pthread_join(handle, nil) }
}

/// Holds an iterator between a benchmark's setup, iterations and teardown.
final class IteratorBox: @unchecked Sendable {
    // @unchecked Sendable: package-benchmark runs setup, the iterations and
    // teardown of one benchmark one after another on one thread, so the
    // iterator (not thread-safe) is never used by two threads at once.
    var iterator: DBIterator?
}
