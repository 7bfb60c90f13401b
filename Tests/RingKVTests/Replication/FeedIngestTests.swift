import Testing
@testable import RingKV

/// A bulk ingest takes a sequence and writes no WAL record: a feed that
/// reaches it says the changes are unavailable (the replica bootstraps
/// again) instead of letting the replica miss the files; a follower sees
/// the ingested values after its catch-up.
@Suite struct FeedIngestTests {
    @Test func aFeedReachingAnIngestThrowsChangesUnavailable() async throws {
        let dir = try TempDir()
        let db = try await DB(path: dir.sub("db"), options: ReplicationFixtures.primaryOptions())
        try await db.put(Array("a".utf8), Array("1".utf8))
        let file = dir.sub("bulk.sst")
        let writer = try TableFileWriter(path: file)
        try writer.add(Array("m".utf8), Array("ingested".utf8))
        try writer.finish()
        try await db.ingest([file])
        try await db.put(Array("z".utf8), Array("2".utf8))
        var seen: [UInt64] = []
        do {
            for try await batch in db.changes(since: 0) { seen.append(batch.sequence) }
            Issue.record("the feed ended without an error")
        } catch DBError.changesUnavailable(let oldest) {
            #expect(oldest == 2, "the ingest took sequence 2: the feed serves again from since = 2")
        }
        #expect(seen == [1], "the put before the ingest, then the refusal")
        var after: [UInt64] = []
        for try await batch in db.changes(since: 2) {
            after.append(batch.sequence)
            break
        }
        #expect(after == [3])
        try await db.close()
    }

    @Test func aFollowerSeesIngestedValuesAfterCatchUp() throws {
        let dir = try TempDir()
        let path = dir.sub("db")
        let primary = try DB(path: path, options: openOptions())
        try primary.put("a", "old")
        let follower = try DB(followerOf: path)
        let file = dir.sub("bulk.sst")
        let writer = try TableFileWriter(path: file)
        try writer.add(Array("a".utf8), Array("ingested".utf8))
        try writer.finish()
        try primary.ingest([file])
        #expect(try follower.get("a") == Array("old".utf8))
        try follower.catchUp()
        #expect(try follower.get("a") == Array("ingested".utf8))
        try follower.close()
        try primary.close()
    }
}
