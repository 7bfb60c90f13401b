// crashwriter's `bank` mode (issue 24): money moves between 16 accounts in
// optimistic transactions, from THREADS - 2 OS threads and 2 async tasks
// (with THREADS < 3: threads only). Each transfer also writes its log
// record "log/<seed>/<worker>/<n>" = "<from> <to> <amount>" in the same
// transaction and is acknowledged ("ack <worker> <n>") after its commit
// returned. The accounts are created in one transaction on the first run;
// later runs continue on the same database. After a kill the test checks
// (Tests/RingKVTests/Transaction/BankCrashTests.swift): the total is
// unchanged, every acknowledged transfer's log record is there, and
// replaying all log records from the opening balances gives the balances.
// Each transfer also merges +1 into "bank/transfers" (CounterMerge, a
// blind merge in the same transaction): it must equal the number of log
// records after every kill.
import Glibc
import RingKV

enum Bank {
    static let accounts = 16
    static let opening = 1000

    static func account(_ i: Int) -> [UInt8] { Array("acct/\(i < 10 ? "0" : "")\(i)".utf8) }
    static func parse(_ v: [UInt8]?) -> Int { Int(String(decoding: v ?? [], as: UTF8.self)) ?? 0 }

    /// Creates the accounts unless a previous run did (one transaction).
    static func setUp(_ db: DB, sync: Bool) throws {
        try db.transaction(options: WriteOptions(sync: sync)) { txn in
            if try txn.get(Array("bank/init".utf8)) != nil { return }
            for i in 0..<accounts { try txn.put(account(i), Array(String(opening).utf8)) }
            try txn.put(Array("bank/init".utf8), Array("1".utf8))
        }
    }

    /// Transfer `n` of `worker`: its accounts and amount.
    static func plan(seed: Int, worker: Int, n: Int) -> (a: Int, b: Int, amount: Int) {
        var x = UInt64(truncatingIfNeeded: seed &* 1_000_003 &+ worker &* 7919 &+ n &* 31) &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        let a = Int(x % UInt64(accounts))
        let b = (a + 1 + Int((x >> 8) % UInt64(accounts - 1))) % accounts
        return (a, b, 1 + Int((x >> 20) % 100))
    }

    static func body(_ txn: Transaction, seed: Int, worker: Int, n: Int) throws {
        let (a, b, amount) = plan(seed: seed, worker: worker, n: n)
        let from = parse(try txn.get(account(a)))
        let to = parse(try txn.get(account(b)))
        let moved = min(amount, from)
        try txn.put(account(a), Array(String(from - moved).utf8))
        try txn.put(account(b), Array(String(to + moved).utf8))
        try txn.put(Array("log/\(seed)/\(worker)/\(n)".utf8), Array("\(a) \(b) \(moved)".utf8))
        try txn.merge(Array("bank/transfers".utf8), CounterMerge.operand(1))
    }
}

extension Shared {
    func bankWriter(_ worker: Int) -> Never {
        var n = 0
        while true {
            do {
                try db.transaction(maxAttempts: 1_000_000, options: WriteOptions(sync: sync)) { txn in
                    try Bank.body(txn, seed: seed, worker: worker, n: n)
                }
            } catch {
                report("error \(error)")
                exit(4)
            }
            report("ack \(worker) \(n)")
            n += 1
        }
    }

    func bankTask(_ worker: Int) async {
        var n = 0
        while true {
            do {
                try await db.transaction(maxAttempts: 1_000_000, options: WriteOptions(sync: sync)) { txn in
                    try Bank.body(txn, seed: seed, worker: worker, n: n)
                }
            } catch {
                report("error \(error)")
                exit(4)
            }
            report("ack \(worker) \(n)")
            n += 1
        }
    }
}
