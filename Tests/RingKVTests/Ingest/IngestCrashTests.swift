import Glibc
import RingIO
import Testing
@testable import RingKV

/// The kill -9 loop for ingest (issue 23): crashwriter in `ingest` mode
/// puts one key and then ingests two table files per operation, and is
/// SIGKILLed at a random moment. After every reopen each operation's
/// ingest is in whole (every key of both files, with the ingested value,
/// superseding the put) or not at all (no key of either file; the put may
/// be there), acknowledged operations are in whole, and nothing after the
/// one in flight exists. No temp file survives the reopen. Cycles:
/// RINGKV_INGEST_CRASH_CYCLES (default 16); RINGKV_SEED replays a run.
@Suite struct IngestCrashTests {
    static var cycles: Int { KillNineLoop.cycles("RINGKV_INGEST_CRASH_CYCLES", default: 16) }

    static func key(_ t: Int, _ op: Int, _ i: Int) -> [UInt8] {
        Array("t\(t)-i\(op)-\(String(1_000_000 + i).dropFirst())".utf8)
    }
    static func value(_ t: Int, _ op: Int, _ i: Int, _ seed: Int) -> [UInt8] {
        Array("ingest-\(seed)-\(t)-\(op)-\(i)".utf8)
    }
    static func count(_ op: Int) -> Int { 40 + (op * 37) % 400 }

    /// How many of operation `op`'s ingested keys `db` holds with their
    /// ingested value (any other value of one is an issue).
    static func ingestedKeys(_ db: DB, thread t: Int, op: Int, seed: Int, context: String) throws -> Int {
        var present = 0
        for i in 0..<count(op) {
            guard let v = try db.get(key(t, op, i)) else { continue }
            if v == value(t, op, i, seed) {
                present += 1
            } else if !(i == 0 && v == Array("put".utf8)) {
                Issue.record("\(context): thread \(t) op \(op) key \(i) holds \(String(decoding: v, as: UTF8.self))")
            }
        }
        return present
    }

    @Test func everyIngestIsInWholeOrNotAtAll() throws {
        var loop = try KillNineLoop("IngestCrashTests")
        let (seed, path, child) = (loop.seed, loop.path, loop.child)
        var inFlightIn = 0, inFlightOut = 0, acknowledged = 0
        for cycle in 0..<Self.cycles {
            try? FileSystem.removeTree(path)
            try? FileSystem.removeTree(path + ".files")
            let threads = Int.random(in: 1...2, using: &loop.rng)
            let runSeed = Int.random(in: 0..<1_000_000, using: &loop.rng)
            let delayMicros = UInt32.random(in: 100_000...600_000, using: &loop.rng)
            let mode = cycle % 2 == 0 ? "sync" : "nosync"
            let acked = try CrashTests().runChild(child, path: path, seed: runSeed, threads: threads, mode: mode,
                                                  killAfterMicros: delayMicros, denyIOUring: false,
                                                  extraArguments: ["ingest"])
            guard FileSystem.exists(path + "/CURRENT") else { continue }
            let context = "seed \(seed) cycle \(cycle) (\(mode), \(threads) threads, acked \(acked))"
            let db = try DB(path: path, options: openOptions())
            defer { try? db.close() }
            let leftovers = try FileSystem.listDirectory(path).filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty, "\(context): temp files after reopen: \(leftovers)")
            for t in 0..<threads {
                let last = acked[t] ?? -1
                for op in 0...(last + 2) {
                    let n = try Self.ingestedKeys(db, thread: t, op: op, seed: runSeed, context: context)
                    if op <= last {
                        #expect(n == Self.count(op), "\(context): acknowledged op \(op) of thread \(t) holds \(n) of \(Self.count(op)) keys")
                        acknowledged += 1
                    } else if op == last + 1 {
                        #expect(n == 0 || n == Self.count(op), "\(context): op \(op) of thread \(t) in flight holds \(n) of \(Self.count(op)) keys")
                        if n == 0 { inFlightOut += 1 } else { inFlightIn += 1 }
                    } else {
                        #expect(n == 0, "\(context): op \(op) of thread \(t) after the one in flight holds \(n) keys")
                    }
                }
            }
            // The database still takes writes and ingests after the crash.
            try db.put("after", "crash")
            #expect(try db.get("after") == "crash")
        }
        print("IngestCrashTests: \(acknowledged) acknowledged ingests checked; in flight: \(inFlightIn) in, \(inFlightOut) out")
    }
}
