import Glibc
import RingIO
import Synchronization
import Testing
@testable import RingKV

/// Replicas (`Options.replica`, `apply`): exact application of a primary's
/// change feed, refusals that change nothing, restart, bootstrap from a
/// checkpoint. RINGKV_SEED replays the random runs.
@Suite struct ReplicaTests {
    @Test func replicaFollowingTheFeedScansIdenticallyAfter50kMixedOperations() async throws {
        let seed = testSeed()
        print("ReplicaTests.follow seed \(seed)")
        let dir = try TempDir()
        let primary = try await DB(path: dir.sub("primary"), options: ReplicationFixtures.primaryOptions())
        let replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer {
            try? primary.close()
            try? replica.close()
        }
        let handles = try ReplicationFixtures.keyspaceNames.map { try primary.keyspace($0) }
        for name in ReplicationFixtures.keyspaceNames { _ = try await replica.keyspace(name) }
        let target = Atomic<UInt64>(0)
        let follower = Task {
            var applied = 0
            for try await batch in primary.changes(since: replica.latestSequence) {
                try await replica.apply(batch)
                applied += 1
                let stop = target.load(ordering: .acquiring)
                if stop != 0 && replica.latestSequence >= stop { break }
            }
            return applied
        }
        var rng = SeededRandom(seed: seed)
        try ReplicationFixtures.writeRandomOperations(primary, keyspaces: handles, count: 50_000, rng: &rng)
        try await primary.flush()
        // A last write after the target is known, so the follower sees it.
        try await primary.put(bytes("sentinel"), bytes("end"))
        target.store(primary.latestSequence, ordering: .releasing)
        try await primary.put(bytes("sentinel2"), bytes("end"))
        target.store(primary.latestSequence, ordering: .releasing)
        let applied = try await follower.value
        #expect(applied > 1000)
        #expect(replica.latestSequence == primary.latestSequence)
        let want = try ReplicationFixtures.contents(primary)
        let got = try ReplicationFixtures.contents(replica)
        #expect(Set(got.keys) == Set(want.keys))
        for name in ReplicationFixtures.keyspaceNames {
            #expect(got[name] == want[name], "keyspace \(name) differs (seed \(seed))")
            #expect((want[name]?.count ?? 0) > 0)
        }
    }

    @Test func batchedApplyOfABacklogMatchesThePrimary() async throws {
        let dir = try TempDir()
        let primary = try await DB(path: dir.sub("primary"), options: ReplicationFixtures.primaryOptions())
        let replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer {
            try? primary.close()
            try? replica.close()
        }
        let handles = try ReplicationFixtures.keyspaceNames.map { try primary.keyspace($0) }
        for name in ReplicationFixtures.keyspaceNames { _ = try await replica.keyspace(name) }
        var rng = SeededRandom(seed: 11)
        try ReplicationFixtures.writeRandomOperations(primary, keyspaces: handles, count: 5000, rng: &rng)
        let end = primary.latestSequence
        var pending: [CommittedBatch] = []
        for try await batch in primary.changes(since: 0) {
            pending.append(batch)
            if pending.count == 300 || batch.lastSequence == end {
                try await replica.apply(pending)
                pending.removeAll()
            }
            if batch.lastSequence == end { break }
        }
        #expect(replica.latestSequence == end)
        #expect(try ReplicationFixtures.contents(replica) == ReplicationFixtures.contents(primary))
    }

    @Test func outOfOrderDuplicateUnknownKeyspaceAndUserWritesChangeNothing() throws {
        let dir = try TempDir()
        let replica = try DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer { try? replica.close() }
        let one = CommittedBatch(sequence: 1, changes: [.put(keyspace: "default", key: bytes("a"), value: bytes("1"))])
        let two = CommittedBatch(sequence: 2, changes: [.put(keyspace: "default", key: bytes("b"), value: bytes("2")),
                                                        .delete(keyspace: "default", key: bytes("a"))])
        #expect(throws: DBError.outOfOrder(expected: 1, got: 2)) { try replica.apply(two) }
        #expect(replica.latestSequence == 0)
        #expect(try replica.get(bytes("b")) == nil)
        try replica.apply(one)
        #expect(throws: DBError.outOfOrder(expected: 2, got: 1)) { try replica.apply(one) }  // a duplicate
        #expect(replica.latestSequence == 1)
        // A gap inside an array: nothing of it is applied.
        let five = CommittedBatch(sequence: 5, changes: [.put(keyspace: "default", key: bytes("c"), value: bytes("3"))])
        #expect(throws: DBError.outOfOrder(expected: 4, got: 5)) { try replica.apply([two, five]) }
        #expect(replica.latestSequence == 1)
        #expect(try replica.get(bytes("b")) == nil)
        // A keyspace the replica lacks: refused, nothing applied.
        let elsewhere = CommittedBatch(sequence: 2, changes: [.put(keyspace: "default", key: bytes("x"), value: bytes("1")),
                                                              .put(keyspace: "nowhere", key: bytes("y"), value: bytes("1"))])
        #expect(throws: DBError.unknownKeyspace(name: "nowhere")) { try replica.apply(elsewhere) }
        #expect(replica.latestSequence == 1)
        #expect(try replica.get(bytes("x")) == nil)
        // Users' writes are refused; keyspaces and flush work.
        #expect(throws: DBError.readOnly(.replica)) { try replica.put(bytes("u"), bytes("1")) }
        #expect(throws: DBError.readOnly(.replica)) { try replica.write({ var b = WriteBatch(); b.put(bytes("u"), bytes("1")); return b }()) }
        let users = try replica.keyspace("users")
        #expect(throws: DBError.readOnly(.replica)) { try users.put(bytes("u"), bytes("1")) }
        try replica.apply(two)
        try replica.flush()
        #expect(replica.latestSequence == 3)
        #expect(try replica.get(bytes("a")) == nil)
        #expect(try replica.get(bytes("b")) == bytes("2"))
        // apply on a database that is not a replica is a misuse.
        let plain = try DB(path: dir.sub("plain"), options: openOptions())
        defer { try? plain.close() }
        #expect(throws: DBError.self) { try plain.apply(one) }
        #expect(plain.latestSequence == 0)
    }

    @Test func replicaBootstrappedFromACheckpointResumesAfterRestart() async throws {
        let dir = try TempDir()
        let primary = try await DB(path: dir.sub("primary"), options: ReplicationFixtures.primaryOptions())
        defer { try? primary.close() }
        let handles = try ReplicationFixtures.keyspaceNames.map { try primary.keyspace($0) }
        var rng = SeededRandom(seed: 5)
        try ReplicationFixtures.writeRandomOperations(primary, keyspaces: handles, count: 3000, rng: &rng)
        try await primary.checkpoint(to: dir.sub("replica"))
        let atCheckpoint = primary.latestSequence
        try ReplicationFixtures.writeRandomOperations(primary, keyspaces: handles, count: 3000, rng: &rng)
        var replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        #expect(replica.latestSequence == atCheckpoint)
        // Follow half of the way, restart, follow the rest from latestSequence.
        let middle = atCheckpoint + (primary.latestSequence - atCheckpoint) / 2
        try await ReplicationFixtures.follow(primary, into: replica, through: middle)
        let reached = replica.latestSequence
        try await replica.close()
        replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer { try? replica.close() }
        #expect(replica.latestSequence == reached)
        let end = primary.latestSequence
        try await ReplicationFixtures.follow(primary, into: replica, through: end)
        #expect(replica.latestSequence == end)
        #expect(try ReplicationFixtures.contents(replica) == ReplicationFixtures.contents(primary))
    }
}
