import Glibc
import RingIO
import Testing
@testable import RingKV

/// A child process writes with `sync: true` and reports each acknowledged
/// operation; the parent SIGKILLs it at a random moment, reopens the
/// database and checks it against the exact oracle (CrashOracle.swift):
/// every acknowledged put, delete and range deletion in effect, at most one
/// operation per thread in flight (any prefix of its atomic writes), and
/// nothing else changed.
@Suite struct CrashTests {
    static var cycles: Int { KillNineLoop.cycles("RINGKV_CRASH_CYCLES", default: 100) }

    @Test func everyAcknowledgedWriteSurvivesSIGKILL() throws {
        try runCycles(Self.cycles, denyIOUring: false)
    }

    /// The same on the plain-syscall fallback: the child's io_uring_setup
    /// is refused by a seccomp filter (EPERM, as under Docker's default
    /// profile), so its WAL, flushes, compactions and reads use pread,
    /// pwrite and fdatasync. A quarter of the cycles (at least 20), or
    /// RINGKV_CRASH_REFUSED_CYCLES.
    @Test func everyAcknowledgedWriteSurvivesSIGKILLWithIOUringRefused() throws {
        let refused = getenv("RINGKV_CRASH_REFUSED_CYCLES").flatMap { Int(String(cString: $0)) }
        try runCycles(refused ?? max(Self.cycles / 4, 20), denyIOUring: true)
    }

    private func runCycles(_ cycles: Int, denyIOUring: Bool) throws {
        var loop = try KillNineLoop("CrashTests")
        let (seed, path, child) = (loop.seed, loop.path, loop.child)
        var oracle = CrashOracle()
        var totals = CrashOracle.Verdict()
        let started = ContinuousClock.now
        // Doubled (up to 16×) after a cycle whose child acknowledged nothing:
        // a sanitizer build can take longer to open than the longest delay.
        var slowness: UInt32 = 1
        for cycle in 0..<cycles {
            let threads = Int.random(in: 1...4, using: &loop.rng)
            let runSeed = Int.random(in: 0..<1_000_000, using: &loop.rng)
            let delayMicros = UInt32.random(in: 20_000...250_000, using: &loop.rng) * slowness
            // Odd cycles write with sync: false. A SIGKILL (not a power
            // loss) keeps the page cache, so those acknowledged writes must
            // survive too.
            let mode = cycle % 2 == 0 ? "sync" : "nosync"
            let acked = try runChild(child, path: path, seed: runSeed, threads: threads, mode: mode,
                                     killAfterMicros: delayMicros, denyIOUring: denyIOUring)
            slowness = acked.isEmpty ? min(slowness * 2, 16) : 1
            let db = try DB(path: path, options: openOptions())
            let verdict = try oracle.check(db, seed: runSeed, threads: threads, acked: acked)
            totals.add(verdict)
            for message in verdict.messages {
                Issue.record("seed \(seed) cycle \(cycle) (\(mode), \(threads) threads, acked \(acked)): \(message)")
            }
            try db.close()
            // Start the next cycle from a clean directory now and then, so
            // recovery of both fresh and long-lived databases is covered.
            if cycle % 10 == 9 {
                try FileSystem.removeTree(path)
                oracle = CrashOracle()
            }
        }
        print("""
            crash cycles \(cycles) (io_uring \(denyIOUring ? "refused" : "allowed"), seed \(seed), \
            \(ContinuousClock.now - started)): \(totals.acknowledgedOps) operations acknowledged; in flight at \
            the kill: \(totals.inFlightNone) took no effect, \(totals.inFlightPart) part, \(totals.inFlightAll) all; \
            lost \(totals.lost), phantom \(totals.phantom), torn \(totals.torn)
            """)
        #expect(totals.acknowledgedOps > 0, "the child never acknowledged a write (seed \(seed))")
        #expect(!totals.failed, "seed \(seed): lost \(totals.lost), phantom \(totals.phantom), torn \(totals.torn)")
    }

    /// Runs the child, kills it after the delay, returns thread -> last
    /// acknowledged op (threads that acknowledged nothing are absent).
    /// `extraArguments` follow the mode (`keyspaces`: KeyspaceCrashTests).
    func runChild(_ exe: String, path: String, seed: Int, threads: Int, mode: String,
                  killAfterMicros: UInt32, denyIOUring: Bool, extraArguments: [String] = []) throws -> [Int: Int] {
        let argv = [path, String(seed), String(threads), mode] + extraArguments
        let output = runChildUntilKilled(exe, argv, extraEnvironment: denyIOUring ? ["RINGKV_DENY_IO_URING=1"] : [],
                                         killAfterMicros: killAfterMicros)
        var last: [Int: Int] = [:]
        for line in output.split(separator: "\n") {
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
            guard parts.count == 3, parts[0] == "ack", let t = Int(parts[1]), let op = Int(parts[2]) else {
                Issue.record("child printed \(line)")
                continue
            }
            // A thread's operations are sequential: its reports count up
            // from 0 without a gap.
            #expect(t >= 0 && t < threads && op == (last[t] ?? -1) + 1, "child reported \(line) after \(last[t] ?? -1)")
            last[t] = op
        }
        return last
    }
}
