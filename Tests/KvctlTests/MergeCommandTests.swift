import Glibc
import RingIO
import Testing
@testable import RingKV

@Suite("kvctl merge")
struct MergeCommandTests {
    @Test func decimalAndHexOperandsAddUpAndBadOnesAreRefused() throws {
        let dir = try TempDir()
        let db = dir.sub("db")
        var r = try Kvctl.run(["--db", db, "--create", "merge", "hits", "5"])
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "merge", "hits", "--", "-2"])
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "--hex", "merge", "68697473", "0a00000000000000"])
        #expect(r.status == 0, "\(r.err)")
        r = try Kvctl.run(["--db", db, "--counter-merge", "--hex", "get", "68697473"])
        #expect(r.out == "0d00000000000000\n", "5 - 2 + 10 = 13: \(r.out) \(r.err)")
        // Without the flag kvctl assumes no operator: a clear error, no guess.
        r = try Kvctl.run(["--db", db, "get", "hits"])
        #expect(r.status != 0 && r.err.contains("merge operands"), "\(r.err)")
        r = try Kvctl.run(["--db", db, "merge", "hits", "twelve"])
        #expect(r.status == 3 && r.err.contains("not a decimal Int64"), "\(r.err)")
        r = try Kvctl.run(["--db", db, "--hex", "merge", "68697473", "0a00"])
        #expect(r.status != 0 && r.err.contains("8 bytes"), "\(r.err)")
        var options = Options()
        options.mergeOperator = CounterMerge()
        let opened = try DB(path: db, options: options)
        #expect(CounterMerge.value(try opened.get(bytes("hits"))) == 13)
        try opened.close()
    }

    /// Operands another operator wrote: `--counter-merge` and `merge` are
    /// refused at open, naming both operators (the MANIFEST stores the
    /// name); before, CounterMerge summed them as Int64s at compaction.
    @Test func counterMergeOnADatabaseOfAnotherOperatorIsRefused() throws {
        struct Concat: MergeOperator {
            var name: String { "Concat" }
            func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) throws -> [UInt8] {
                operands.reduce(existing ?? []) { $0 + $1 }
            }
        }
        let dir = try TempDir()
        let db = dir.sub("db")
        var options = Options()
        options.createIfMissing = true
        options.mergeOperator = Concat()
        let written = try DB(path: db, options: options)
        for part in ["abcdefgh", "ijklmnop"] { try written.merge(bytes("k"), bytes(part)) }
        try written.close()
        for args in [["--counter-merge", "get", "k"], ["--counter-merge", "compact"], ["merge", "k", "1"]] {
            let r = try Kvctl.run(["--db", db] + args)
            #expect(r.status != 0 && r.err.contains("CounterMerge") && r.err.contains("Concat"), "\(args): \(r.err)")
        }
        let opened = try DB(path: db, options: options)
        #expect(try opened.get(bytes("k")) == bytes("abcdefghijklmnop"))
        try opened.close()
    }
}
