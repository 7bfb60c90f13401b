import Glibc
import RingIO
import Testing
@testable import RingKV

/// The kill -9 bank test of issue 24: crashwriter in `bank` mode moves
/// money between 16 accounts in transactions from 4 threads and 2 async
/// tasks on ONE database across all cycles, and is SIGKILLed at a random
/// moment each cycle. After every reopen: the total is unchanged, every
/// acknowledged transfer's log record is there, and replaying every log
/// record (all runs) from the opening balances gives exactly the
/// balances — so no acknowledged transfer is lost and none took effect in
/// part; the transfer counter each transfer merges into (a merge inside
/// the transaction) equals the number of log records. Cycles: RINGKV_BANK_CRASH_CYCLES (default 12); RINGKV_SEED
/// replays a run.
@Suite struct BankCrashTests {
    static var cycles: Int { KillNineLoop.cycles("RINGKV_BANK_CRASH_CYCLES", default: 12) }
    static let accounts = 16
    static let opening = 1000
    static let workers = 6

    static func parse(_ v: [UInt8]?) -> Int { Int(String(decoding: v ?? [], as: UTF8.self)) ?? Int.min / 4 }

    @Test func everyReopenKeepsTheTotalAndEveryAcknowledgedTransfer() throws {
        var loop = try KillNineLoop("BankCrashTests")
        let (seed, path, child) = (loop.seed, loop.path, loop.child)
        var acknowledgedTotal = 0
        var logsSeen = 0
        for cycle in 0..<Self.cycles {
            let runSeed = Int.random(in: 0..<1_000_000, using: &loop.rng)
            let delayMicros = UInt32.random(in: 100_000...500_000, using: &loop.rng)
            let mode = cycle % 2 == 0 ? "sync" : "nosync"
            let acked = try CrashTests().runChild(child, path: path, seed: runSeed, threads: Self.workers, mode: mode,
                                                  killAfterMicros: delayMicros, denyIOUring: false,
                                                  extraArguments: ["bank"])
            guard FileSystem.exists(path + "/CURRENT") else { continue }
            let context = "seed \(seed) cycle \(cycle) (\(mode), run seed \(runSeed), acked \(acked))"
            var options = openOptions()
            options.mergeOperator = CounterMerge()
            let db = try DB(path: path, options: options)
            defer { try? db.close() }
            guard try db.get(bytes("bank/init")) != nil else {
                // Killed before the accounts' transaction committed: none.
                #expect(try db.scan(from: bytes("acct/"), to: bytes("acct0")).isEmpty, "\(context)")
                continue
            }
            let balances = try db.scan(from: bytes("acct/"), to: bytes("acct0")).map { Self.parse($0.value) }
            #expect(balances.count == Self.accounts, "\(context)")
            #expect(balances.reduce(0, +) == Self.accounts * Self.opening, "\(context): total \(balances.reduce(0, +))")
            for (worker, last) in acked {
                acknowledgedTotal += last + 1
                for n in 0...last {
                    let record = try db.get(bytes("log/\(runSeed)/\(worker)/\(n)"))
                    #expect(record != nil, "\(context): acknowledged transfer \(worker)/\(n) lost")
                    if record == nil { break }
                }
            }
            var replayed = [Int](repeating: Self.opening, count: Self.accounts)
            let logs = try db.scan(from: bytes("log/"), to: bytes("log0"))
            logsSeen = logs.count
            for row in logs {
                let parts = String(decoding: row.value, as: UTF8.self).split(separator: " ").compactMap { Int($0) }
                guard parts.count == 3 else {
                    Issue.record("\(context): log record \(row.value)")
                    continue
                }
                replayed[parts[0]] -= parts[2]
                replayed[parts[1]] += parts[2]
            }
            #expect(replayed == balances, "\(context): balances differ from the replayed log")
            let transfers = CounterMerge.value(try db.get(bytes("bank/transfers"))) ?? 0
            #expect(transfers == Int64(logs.count), "\(context): \(transfers) merged transfers, \(logs.count) log records")
        }
        print("BankCrashTests: \(Self.cycles) kills, \(acknowledgedTotal) acknowledged transfers, \(logsSeen) log records")
        #expect(acknowledgedTotal > 0)
    }
}
