import Glibc
import RingIO
import Testing
@testable import RingKV

/// The replica kill -9 loop: `replicacrash` follows a primary's change
/// feed into a replica (and, in `both` cycles, writes to the primary at the
/// same time) and is SIGKILLed at a random moment — the primary mid-write
/// and mid-feed, the replica mid-apply. The databases carry over from cycle
/// to cycle, so every cycle resumes from the replica's latestSequence after
/// a kill: a gap or a duplicate makes the child's apply throw
/// (`outOfOrder`), which fails the test. After each kill the replica is
/// never ahead of the primary; at the end it catches up and every keyspace
/// scans identically. Cycles: RINGKV_REPLICA_CRASH_CYCLES (default 10);
/// RINGKV_SEED replays a run.
@Suite struct ReplicaCrashTests {
    static var cycles: Int { KillNineLoop.cycles("RINGKV_REPLICA_CRASH_CYCLES", default: 10) }

    /// Runs `replicacrash` for `micros`, kills it, returns its output.
    static func runChild(_ exe: String, _ arguments: [String], killAfterMicros micros: UInt32) -> String {
        runChildUntilKilled(exe, arguments, killAfterMicros: micros)
    }

    @Test func replicaResumesAfterKillNineWithNoGapAndNoDuplicate() async throws {
        var loop = try KillNineLoop("ReplicaCrashTests", child: "replicacrash", database: "primary")
        let (seed, child, primaryPath, replicaPath) = (loop.seed, loop.child, loop.path, loop.dir.sub("replica"))
        var replicaProgress = 0
        var previousReplica: UInt64 = 0
        for cycle in 0..<Self.cycles {
            let mode = cycle % 3 == 2 ? "follow" : "both"
            let micros = UInt32.random(in: 150_000...600_000, using: &loop.rng)
            let output = Self.runChild(child, [primaryPath, replicaPath, String(UInt64.random(in: 1...UInt64.max,
                                                                                              using: &loop.rng)), mode],
                                       killAfterMicros: micros)
            let context = "seed \(seed) cycle \(cycle) (\(mode), killed after \(micros) µs)"
            for line in output.split(separator: "\n") where line.hasPrefix("error") || line.hasPrefix("open failed") {
                Issue.record("\(context): child reported \(line)")
            }
            guard FileSystem.exists(primaryPath + "/CURRENT"), FileSystem.exists(replicaPath + "/CURRENT") else {
                continue
            }
            let (primarySequence, replicaSequence) = try blocking { () throws -> (UInt64, UInt64) in
                // With the child's retention: an open sweeps obsolete logs.
                var primaryOptions = openOptions()
                primaryOptions.changeRetentionBytes = 1 << 30
                let primary = try DB(path: primaryPath, options: primaryOptions)
                defer { try? primary.close() }
                var replicaOptions = openOptions()
                replicaOptions.replica = true
                let replica = try DB(path: replicaPath, options: replicaOptions)
                defer { try? replica.close() }
                return (primary.latestSequence, replica.latestSequence)
            }
            print("\(context): primary at \(primarySequence), replica at \(replicaSequence)")
            #expect(replicaSequence <= primarySequence, "\(context): the replica is ahead of the primary")
            #expect(replicaSequence >= previousReplica, "\(context): the replica went back")
            if replicaSequence > previousReplica { replicaProgress += 1 }
            previousReplica = replicaSequence
        }
        #expect(replicaProgress > 0, "the replica never applied anything (seed \(seed))")
        // Catch up and compare.
        var primaryOptions = openOptions()
        primaryOptions.changeRetentionBytes = 1 << 30
        let primary = try await DB(path: primaryPath, options: primaryOptions)
        var replicaOptions = openOptions()
        replicaOptions.replica = true
        let replica = try await DB(path: replicaPath, options: replicaOptions)
        defer {
            try? primary.close()
            try? replica.close()
        }
        let end = primary.latestSequence
        try await ReplicationFixtures.follow(primary, into: replica, through: end)
        #expect(replica.latestSequence == end)
        let want = try blocking { try ReplicationFixtures.contents(primary) }
        let got = try blocking { try ReplicationFixtures.contents(replica) }
        #expect(got == want, "seed \(seed): the replica differs from the primary after catching up")
    }
}
