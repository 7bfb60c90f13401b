import Glibc
import RingIO
import Testing
@testable import RingKV

/// The bank-transfer test of issue 24: 8 threads and 4 async tasks move
/// money between 20 hot accounts in transactions (each transfer also
/// writes a log record of itself), while a reader checks the total under
/// one snapshot again and again — and inside read-only transactions.
/// Small memtables make flushes and compactions run meanwhile. At the
/// end: the total is unchanged, every committed transfer's log record is
/// there, and replaying the log from the opening balances gives exactly
/// the final balances (no lost update, no partial transfer).
/// Randomized: prints its seed, RINGKV_SEED replays.
@Suite struct BankTransferTests {
    static let accounts = 20
    static let opening = 1000

    static func account(_ i: Int) -> [UInt8] { bytes("acct/" + (i < 10 ? "0" : "") + String(i)) }
    static func parse(_ v: [UInt8]?) -> Int { Int(String(decoding: v ?? [], as: UTF8.self)) ?? Int.min / 4 }

    final class Failures: Sendable {
        let messages = Locked<[String]>([])
        func record(_ s: String) { messages.withLock { if $0.count < 20 { $0.append(s) } } }
    }

    /// One transfer of `amount` (at most the balance) from `a` to `b`,
    /// logged as "log/<worker>/<n>" = "a b amount".
    static func transfer(_ txn: Transaction, worker: Int, n: Int, a: Int, b: Int, amount: Int) throws {
        let from = parse(try txn.get(account(a)))
        let to = parse(try txn.get(account(b)))
        let moved = min(amount, from)
        try txn.put(account(a), bytes(String(from - moved)))
        try txn.put(account(b), bytes(String(to + moved)))
        try txn.put(bytes("log/\(worker)/\(n)"), bytes("\(a) \(b) \(moved)"))
    }

    /// Sums the accounts at one snapshot.
    static func total(_ db: DB, _ snapshot: Snapshot) throws -> Int {
        try db.scan(from: bytes("acct/"), to: bytes("acct0"), options: ReadOptions(snapshot: snapshot))
            .reduce(0) { $0 + parse($1.value) }
    }

    @Test func transfersKeepTheTotalAndLoseNothing() async throws {
        let seed = testSeed()
        print("BankTransferTests seed \(seed)")
        let dir = try TempDir()
        var options = openOptions(memtableBytes: 64 << 10)
        options.walBufferSizeBytes = 64 << 10
        let db = try await DB(path: dir.sub("db"), options: options)
        try await db.transaction { txn in
            for i in 0..<Self.accounts { try txn.put(Self.account(i), bytes(String(Self.opening))) }
        }
        let expectedTotal = Self.accounts * Self.opening
        let transfersPerWorker = Int(getenv("RINGKV_BANK_TRANSFERS").map { String(cString: $0) } ?? "") ?? 300
        let failures = Failures()
        let committed = Locked<Int>(0)
        let running = Locked<Int>(8 + 4)
        let checks = Locked<Int>(0)

        // The reader: one snapshot, one total, again and again.
        let reader = BackgroundThread.spawn {
            while running.withLock({ $0 }) > 0 {
                do {
                    let snap = db.snapshot()
                    let sum = try Self.total(db, snap)
                    if sum != expectedTotal { failures.record("snapshot \(snap.sequence): total \(sum)") }
                    // The same inside a read-only transaction (SI reads).
                    let txn = db.beginTransaction()
                    var inTxn = 0
                    for i in 0..<Self.accounts { inTxn += Self.parse(try txn.get(Self.account(i))) }
                    txn.rollback()
                    if inTxn != expectedTotal { failures.record("transaction total \(inTxn)") }
                    checks.withLock { $0 += 1 }
                } catch {
                    failures.record("reader: \(error)")
                }
            }
        }
        var threads: [BackgroundThread] = []
        for t in 0..<8 {
            threads.append(BackgroundThread.spawn {
                var rng = SeededRandom(seed: seed &+ UInt64(t))
                for n in 0..<transfersPerWorker {
                    let a = Int.random(in: 0..<Self.accounts, using: &rng)
                    let b = (a + Int.random(in: 1..<Self.accounts, using: &rng)) % Self.accounts
                    let amount = Int.random(in: 1...100, using: &rng)
                    do {
                        try db.transaction(maxAttempts: 100_000, options: WriteOptions(sync: n % 50 == 0)) { txn in
                            try Self.transfer(txn, worker: t, n: n, a: a, b: b, amount: amount)
                        }
                        committed.withLock { $0 += 1 }
                    } catch {
                        failures.record("worker \(t) transfer \(n): \(error)")
                    }
                }
                running.withLock { $0 -= 1 }
            })
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 8..<12 {
                group.addTask {
                    var rng = SeededRandom(seed: seed &+ UInt64(t))
                    for n in 0..<transfersPerWorker {
                        let a = Int.random(in: 0..<Self.accounts, using: &rng)
                        let b = (a + Int.random(in: 1..<Self.accounts, using: &rng)) % Self.accounts
                        let amount = Int.random(in: 1...100, using: &rng)
                        do {
                            try await db.transaction(maxAttempts: 100_000) { txn in
                                let from = Self.parse(try await txn.get(Self.account(a)))
                                let to = Self.parse(try await txn.get(Self.account(b)))
                                let moved = min(amount, from)
                                try txn.put(Self.account(a), bytes(String(from - moved)))
                                try txn.put(Self.account(b), bytes(String(to + moved)))
                                try txn.put(bytes("log/\(t)/\(n)"), bytes("\(a) \(b) \(moved)"))
                            }
                            committed.withLock { $0 += 1 }
                        } catch {
                            failures.record("task \(t) transfer \(n): \(error)")
                        }
                    }
                    running.withLock { $0 -= 1 }
                }
            }
            try await group.waitForAll()
        }
        for thread in threads { thread.join() }
        reader.join()

        #expect(failures.messages.withLock { $0 } == [])
        #expect(committed.withLock { $0 } == 12 * transfersPerWorker)
        #expect(checks.withLock { $0 } > 0)
        let stats = db.stats()
        print("bank: \(12 * transfersPerWorker) transfers, \(checks.withLock { $0 }) total checks, flushes \(stats.flushes), compactions \(stats.compactions)")
        // Replaying the log from the opening balances gives the balances.
        var balances = [Int](repeating: Self.opening, count: Self.accounts)
        let logs = try db.scan(from: bytes("log/"), to: bytes("log0"))
        #expect(logs.count == 12 * transfersPerWorker)
        for row in logs {
            let parts = String(decoding: row.value, as: UTF8.self).split(separator: " ").compactMap { Int($0) }
            guard parts.count == 3 else { Issue.record("log \(row.value)"); continue }
            balances[parts[0]] -= parts[2]
            balances[parts[1]] += parts[2]
        }
        for i in 0..<Self.accounts {
            #expect(Self.parse(try await db.get(Self.account(i))) == balances[i], "account \(i)")
        }
        #expect(try Self.total(db, db.snapshot()) == expectedTotal)
        try await db.close()
    }
}
