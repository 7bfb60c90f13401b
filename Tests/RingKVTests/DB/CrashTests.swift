import Glibc
import RingIO
import Testing
@testable import RingKV

/// A child process writes with `sync: true` and reports each acknowledged
/// batch; the parent SIGKILLs it at a random moment, reopens the database
/// and checks every acknowledged write.
@Suite struct CrashTests {
    static func key(_ thread: Int, _ op: Int) -> [UInt8] { bytes("t\(thread)-k\(op)") }
    /// crashwriter's range-deleted keys: op % 8 in 0...4 are deleted by
    /// the deleteRange that follows op - op % 8 + 7.
    static func rangeKey(_ thread: Int, _ op: Int) -> [UInt8] { bytes("t\(thread)-r\(op / 8)-\(op % 8)") }
    static func value(_ thread: Int, _ op: Int, _ seed: Int) -> [UInt8] {
        bytes("v\(seed)-\(thread)-\(op)-") + [UInt8](repeating: UInt8(op & 0xff), count: (op * 7) % 300)
    }

    static var cycles: Int { Int(getenv("RINGKV_CRASH_CYCLES").map { String(cString: $0) } ?? "") ?? 100 }

    @Test func everyAcknowledgedWriteSurvivesSIGKILL() throws {
        try runCycles(Self.cycles, denyIOUring: false)
    }

    /// The same on the plain-syscall fallback: the child's io_uring_setup
    /// is refused by a seccomp filter (EPERM, as under Docker's default
    /// profile), so its WAL, flushes, compactions and reads use pread,
    /// pwrite and fdatasync. A quarter of the cycles (at least 20).
    @Test func everyAcknowledgedWriteSurvivesSIGKILLWithIOUringRefused() throws {
        try runCycles(max(Self.cycles / 4, 20), denyIOUring: true)
    }

    private func runCycles(_ cycles: Int, denyIOUring: Bool) throws {
        let seed = testSeed()
        var rng = SeededRandom(seed: seed)
        let dir = try TempDir()
        let path = dir.sub("db")
        let child = builtProduct("crashwriter")
        #expect(FileSystem.exists(child), "crashwriter not built at \(child)")
        var totalAcked = 0
        var seedsSinceReset: [Int] = []
        for cycle in 0..<cycles {
            let threads = Int.random(in: 1...4, using: &rng)
            let runSeed = Int.random(in: 0..<1_000_000, using: &rng)
            let delayMicros = UInt32.random(in: 20_000...250_000, using: &rng)
            // Odd cycles write with sync: false. A SIGKILL (not a power
            // loss) keeps the page cache, so those acknowledged writes must
            // survive too.
            let mode = cycle % 2 == 0 ? "sync" : "nosync"
            seedsSinceReset.append(runSeed)
            let acked = try runChild(child, path: path, seed: runSeed, threads: threads, mode: mode,
                                     killAfterMicros: delayMicros, denyIOUring: denyIOUring)
            totalAcked += acked.values.reduce(0) { $0 + $1 + 1 }
            let db = try DB(path: path, options: openOptions())
            for (thread, lastOp) in acked {
                for op in 0...lastOp {
                    // Deleted by an acknowledged later op of the same thread?
                    let deleter = op + 3
                    let deletedForSure = op % 4 == 0 && deleter <= lastOp
                    let deletedMaybe = op % 4 == 0 && deleter > lastOp
                    let got = try db.get(Self.key(thread, op))
                    // The range deletion is acknowledged with op `rangeDeleter`.
                    let rangeDeleter = op - op % 8 + 7
                    let rangeGot = try db.get(Self.rangeKey(thread, op))
                    if op % 8 <= 4 && rangeDeleter <= lastOp {
                        #expect(rangeGot == nil, "seed \(seed) cycle \(cycle): t\(thread) op \(op) range-deleted")
                    } else if op % 8 > 4 || rangeGot != nil {
                        #expect(rangeGot == Self.value(thread, op, runSeed),
                                "seed \(seed) cycle \(cycle): acknowledged range key t\(thread) op \(op) lost or wrong")
                    }
                    if deletedForSure {
                        #expect(got == nil, "seed \(seed) cycle \(cycle): t\(thread) op \(op) should be deleted")
                    } else if !deletedMaybe || got != nil {
                        #expect(got == Self.value(thread, op, runSeed),
                                "seed \(seed) cycle \(cycle): acknowledged t\(thread) op \(op) lost or wrong")
                    }
                }
                // Writes issued but not acknowledged may or may not be there,
                // but never with a value that was not written (no phantoms).
                for op in (lastOp + 1)..<(lastOp + 64) {
                    if let got = try db.get(Self.key(thread, op)) {
                        // Earlier cycles on the same directory wrote these keys too.
                        #expect(seedsSinceReset.contains { got == Self.value(thread, op, $0) },
                                "phantom value, seed \(seed) cycle \(cycle)")
                    }
                }
            }
            try db.close()
            // Start the next cycle from a clean directory now and then, so
            // recovery of both fresh and long-lived databases is covered.
            if cycle % 10 == 9 {
                try FileSystem.removeTree(path)
                seedsSinceReset.removeAll()
            }
        }
        #expect(totalAcked > 0, "the child never acknowledged a write (seed \(seed))")
    }

    /// Runs the child, kills it after the delay, returns thread -> last acked op.
    private func runChild(_ exe: String, path: String, seed: Int, threads: Int, mode: String,
                          killAfterMicros: UInt32, denyIOUring: Bool) throws -> [Int: Int] {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        let argv = [exe, path, String(seed), String(threads), mode]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var environment: [UnsafeMutablePointer<CChar>?] = []
        var e = environ
        while let entry = e.pointee {
            environment.append(strdup(entry))
            e += 1
        }
        if denyIOUring { environment.append(strdup("RINGKV_DENY_IO_URING=1")) }
        environment.append(nil)
        defer { environment.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, nil, &cArgs, &environment)
        posix_spawn_file_actions_destroy(&actions)
        close(fds[1])
        #expect(rc == 0, "posix_spawn failed: \(rc)")
        usleep(killAfterMicros)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fds[0], &chunk, chunk.count)
            if n <= 0 { break }
            output.append(contentsOf: chunk[0..<n])
        }
        close(fds[0])
        var last: [Int: Int] = [:]
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.first == "io" {
                // The paths the child's database chose.
                let expected = denyIOUring ? ["io", "posix", "posix"] : ["io", "io_uring", "io_uring"]
                #expect(parts.map(String.init) == expected, "child chose \(line)")
                continue
            }
            if parts.first == "error" || parts.first == "open" {
                Issue.record("child reported: \(line)")
                continue
            }
            guard parts.count == 3, parts[0] == "ack", let t = Int(parts[1]), let op = Int(parts[2]) else { continue }
            last[t] = max(last[t] ?? -1, op)
        }
        return last
    }
}
