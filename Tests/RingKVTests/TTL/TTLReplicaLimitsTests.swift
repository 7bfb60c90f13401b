import Testing
@testable import RingKV

/// What a primary stores in a TTL keyspace is its user's bytes plus an
/// 8-byte write time, so its change feed may carry a value 8 bytes over
/// `Options.maxValueSizeBytes` and a batch 8 bytes per put over
/// `Options.maxBatchSizeBytes`. A replica's `apply` takes every commit
/// its primary made (refused, it could never get past it).
@Suite struct TTLReplicaLimitsTests {
    @Test func aValueOfTheLargestSizeInATTLKeyspaceIsApplied() async throws {
        let dir = try TempDir()
        let primary = try await DB(path: dir.sub("primary"), options: ReplicationFixtures.primaryOptions())
        let replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer {
            try? primary.close()
            try? replica.close()
        }
        let ttl = KeyspaceOptions(ttl: .seconds(3600))
        let logs = try await primary.keyspace("logs", options: ttl)
        let mirror = try await replica.keyspace("logs", options: ttl)
        let value = [UInt8](repeating: 7, count: Options.maxValueSizeBytes)
        try await logs.put(bytes("big"), value)
        try await ReplicationFixtures.follow(primary, into: replica)
        #expect(replica.latestSequence == primary.latestSequence)
        #expect(try await mirror.get(bytes("big")) == value)
    }

    @Test func aBatchOfTheLargestSizeInATTLKeyspaceIsApplied() async throws {
        let dir = try TempDir()
        let primary = try await DB(path: dir.sub("primary"), options: ReplicationFixtures.primaryOptions())
        let replica = try await DB(path: dir.sub("replica"), options: ReplicationFixtures.replicaOptions())
        defer {
            try? primary.close()
            try? replica.close()
        }
        let ttl = KeyspaceOptions(ttl: .seconds(3600))
        let logs = try await primary.keyspace("logs", options: ttl)
        let mirror = try await replica.keyspace("logs", options: ttl)
        // 256 puts of about 1 MiB: within the limit as written, over it by
        // the 2 KiB of write times once stored.
        let count = 256
        let valueBytes = (Options.maxBatchSizeBytes - WriteBatch.headerSize) / count - 16
        var batch = WriteBatch()
        for i in 0..<count {
            batch.put(bytes(String(format: "k%03d", i)), [UInt8](repeating: UInt8(i & 0xff), count: valueBytes),
                      in: logs)
        }
        try batch.validate()
        #expect(batch.approximateSizeBytes + count * TTLStamp.sizeBytes > Options.maxBatchSizeBytes)
        try await primary.write(batch)
        batch = WriteBatch()
        try await ReplicationFixtures.follow(primary, into: replica)
        #expect(replica.latestSequence == primary.latestSequence)
        #expect(try await mirror.get(bytes("k255")) == [UInt8](repeating: 255, count: valueBytes))
    }
}
