import Testing
@testable import RingKV

@Suite("kvctl keyspace create --ttl")
struct KeyspaceTTLCommandTests {
    @Test func createWithTTLStoresItAndABadTTLIsRefused() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var r = try Kvctl.run(["--db", db, "--create", "keyspace", "create", "sessions", "--ttl", "3600"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try Kvctl.run(["--db", db, "put", "--keyspace", "sessions", "k", "v"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "get", "--keyspace", "sessions", "k"]).out == "v\n")
        r = try Kvctl.run(["--db", db, "keyspace", "create", "bad", "--ttl", "0"])
        #expect(r.status != 0 && r.err.contains("ttl"), "\(r.err)")
        r = try Kvctl.run(["--db", db, "keyspace", "create", "sessions", "--ttl", "60"])
        #expect(r.status == 0, "another positive ttl is stored: \(r.err)")
        let opened = try DB(path: db, options: libraryOptions())
        #expect(try opened.existingKeyspace("sessions").data.storedOptions.ttl == .seconds(60))
        #expect(opened.keyspaceNames() == ["default", "sessions"])
        try opened.close()
    }
}
