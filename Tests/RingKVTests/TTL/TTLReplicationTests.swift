import Testing
@testable import RingKV

/// A TTL keyspace's change feed and replicas (docs/MERGE_TTL.md §TTL):
/// the feed carries stored values, write time included; a replica's
/// `apply` keeps the primary's write time instead of stamping its own.
@Suite struct TTLReplicationTests {
    @Test func theFeedCarriesWriteTimesAndAReplicaKeepsThePrimarys() async throws {
        let primaryClock = TTLTestClock()
        let t0 = primaryClock.now
        let replicaClock = TTLTestClock(t0 + 100 * 1_000_000_000)  // far ahead of the primary
        let dir = try TempDir()
        var primaryOptions = ReplicationFixtures.primaryOptions()
        primaryOptions.ttlClock = { primaryClock.now }
        var replicaOptions = ReplicationFixtures.replicaOptions()
        replicaOptions.ttlClock = { replicaClock.now }
        let primary = try await DB(path: dir.sub("primary"), options: primaryOptions)
        let replica = try await DB(path: dir.sub("replica"), options: replicaOptions)
        let ttl = KeyspaceOptions(ttl: .seconds(10))
        let ks = try await primary.keyspace("logs", options: ttl)
        let mirror = try await replica.keyspace("logs", options: ttl)
        try await ks.put("k", "v")
        let batches = try await ChangeFeedTests.collect(primary.changes(since: replica.latestSequence), count: 1)
        let stamp = TTLStamp.bytes(t0)
        #expect(batches.first?.changes == [.put(keyspace: "logs", key: Array("k".utf8), value: Array("v".utf8) + stamp)])
        for batch in batches { try await replica.apply(batch) }
        // At the replica's own clock (t0+100 s) the value written at t0 has expired.
        #expect(try await mirror.get("k") == nil)
        replicaClock.set(t0 + 10 * 1_000_000_000)
        #expect(try await mirror.get("k") == "v")
        replicaClock.advance(1)
        #expect(try await mirror.get("k") == nil)
        try await primary.close()
        try await replica.close()
    }
}

extension TTLReplicationTests {
    /// A follower reads a TTL keyspace with its own clock against the
    /// primary's write times, in the primary's WAL and its tables.
    @Test func aFollowerExpiresByThePrimarysWriteTimes() throws {
        let clock = TTLTestClock()
        let t0 = clock.now
        let dir = try TempDir()
        let path = dir.sub("db")
        let primary = try DB(path: path, options: TTLFixtures.options(clock))
        let ks = try primary.keyspace("logs", options: KeyspaceOptions(ttl: .seconds(10)))
        try ks.put("flushed", "1")
        try ks.flush()
        clock.set(t0 + 5 * 1_000_000_000)
        try ks.put("logged", "2")
        let followerClock = TTLTestClock(t0 + 10 * 1_000_000_000)
        var options = Options()
        options.ttlClock = { followerClock.now }
        let follower = try DB(followerOf: path, options: options)
        let mirror = try follower.existingKeyspace("logs")
        #expect(try mirror.get("flushed") == "1" && mirror.get("logged") == "2")
        followerClock.advance(1)
        #expect(try mirror.get("flushed") == nil && mirror.get("logged") == "2")
        #expect(try mirror.scan().map { TTLFixtures.text($0.value) } == ["2"])
        followerClock.set(t0 + 15 * 1_000_000_000 + 1)
        #expect(try mirror.scan().isEmpty)
        try follower.close()
        try primary.close()
    }
}
