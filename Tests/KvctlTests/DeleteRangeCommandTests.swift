import Testing
@testable import RingKV

@Suite("kvctl delete-range, and range tombstones in dump-wal, dump-sst and verify")
struct DeleteRangeCommandTests {
    @Test func deleteRangeRemovesTheRangeEndExclusive() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        for k in ["a", "b", "b1", "c", "d"] {
            #expect(try Kvctl.run(["--db", db, "--create", "put", k, "v" + k]).status == 0)
        }
        var r = try Kvctl.run(["--db", db, "delete-range", "b", "c", "--sync"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try contents(of: db).map(\.0) == [bytes("a"), bytes("c"), bytes("d")])
        r = try Kvctl.run(["--db", db, "--hex", "delete-range", "63", "6400"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try contents(of: db).map(\.0) == [bytes("a")])
        r = try Kvctl.run(["--db", db, "delete-range", "z", "a"])
        #expect(r.status != 0 && r.err.contains("end comes before the start"), "\(r.err)")
        #expect(try contents(of: db).map(\.0) == [bytes("a")])
    }

    @Test func dumpsShowTheTombstoneAndVerifyChecksItsBlock() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        #expect(try Kvctl.run(["--db", db, "--create", "put", "k1", "v"]).status == 0)
        #expect(try Kvctl.run(["--db", db, "delete-range", "k", "l"]).status == 0)
        let logs = try files(in: db, suffix: ".log")
        let wal = try Kvctl.run(["dump-wal", try #require(logs.last)])
        #expect(wal.out.contains("DELRANGE  'k' .. 'l' (end exclusive)"), "\(wal.out)")

        #expect(try Kvctl.run(["--db", db, "flush"]).status == 0)
        var withBlock: (path: String, offset: UInt64)?
        for table in try files(in: db, suffix: ".sst") {
            let dump = try Kvctl.run(["dump-sst", table])
            #expect(dump.status == 0, "\(dump.err)")
            guard let line = lines(dump.out).first(where: { $0.contains("range deletion block offset") }) else { continue }
            #expect(dump.out.contains("1 range tombstone"), "\(dump.out)")
            #expect(dump.out.contains("DELRANGE  'k' .. 'l'"), "\(dump.out)")
            let offset = line.split(separator: " ").drop { $0 != "offset" }.dropFirst().first.map { $0.dropLast() }
            withBlock = (table, UInt64(try #require(offset.flatMap { UInt64($0) })))
        }
        let damaged = try #require(withBlock, "no table has a range deletion block")
        #expect(try Kvctl.run(["--db", db, "verify"]).status == 0)
        try flipByte(damaged.path, at: damaged.offset + 1)
        let verify = try Kvctl.run(["--db", db, "verify"])
        #expect(verify.status != 0, "\(verify.out)")
        #expect((verify.out + verify.err).contains("range deletion block") || (verify.out + verify.err).contains("checksum"),
                "\(verify.out)\(verify.err)")
    }
}
