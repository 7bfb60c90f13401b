import Glibc
import RingIO
import Testing
@testable import RingKV

/// Transactions' reads through the memtables' point index
/// (MemTablePointIndex.swift; a transaction's begin installs it on the
/// active memtable): every transaction reads the value of its snapshot —
/// versions written before the index was installed, many newer versions
/// after its snapshot, deletions, memtable switches (the new memtable has
/// no index until the next begin) — and plain reads see the newest.
@Suite struct TransactionPointIndexTests {
    @Test func transactionsReadTheirSnapshotsValueThroughTheIndex() throws {
        let seed = MemTableTestSupport.seed()
        print("TransactionPointIndexTests seed \(seed) (RINGKV_SEED replays)")
        var rng = SplitMix64(seed: seed)
        let dir = try TempDir()
        // A small memtable: it switches (and flushes) many times.
        let db = try DB(path: dir.sub("db"), options: openOptions(memtableBytes: 256 << 10))
        let keys = (0..<8).map { Array("key-\($0)".utf8) }
        var model: [[UInt8]: [UInt8]] = [:]
        // Written before any transaction: no index yet.
        for k in keys.prefix(4) {
            try db.put(k, Array("before".utf8))
            model[k] = Array("before".utf8)
        }
        var open: [(Transaction, [[UInt8]: [UInt8]])] = []
        var checked = 0
        for step in 0..<3000 {
            let k = keys[Int(rng.next() % UInt64(keys.count))]
            if rng.next() % 10 == 0 {
                try db.delete(k)
                model[k] = nil
            } else {
                // Values large enough to switch the memtable now and then.
                let v = Array("v\(step)-".utf8) + [UInt8](repeating: 0x61, count: Int(rng.next() % 300))
                try db.put(k, v)
                model[k] = v
            }
            if rng.next() % 7 == 0 { open.append((db.beginTransaction(), model)) }
            // Close the oldest now and then: long-lived ones see many
            // newer versions (walks past the walk limit).
            if open.count > 6 || (!open.isEmpty && rng.next() % 5 == 0) {
                let (txn, seen) = open.removeFirst()
                for key in keys {
                    #expect(try txn.get(key) == seen[key], "seed \(seed) step \(step) key \(key)")
                    checked += 1
                }
                txn.rollback()
            }
            if step % 97 == 0 {
                for key in keys { #expect(try db.get(key) == model[key], "seed \(seed) step \(step)") }
            }
        }
        #expect(checked > 1000)
        for (txn, _) in open { txn.rollback() }
        try db.close()
    }

    /// A key read through the index and then committed by another writer
    /// still conflicts (the index changes how a read finds its version,
    /// not what is tracked).
    @Test func aReadThroughTheIndexStillConflicts() throws {
        let dir = try TempDir()
        let db = try DB(path: dir.sub("db"), options: openOptions())
        try db.put("k", "0")
        _ = db.beginTransaction()  // installs the index on the active memtable
        try db.put("k", "1")  // indexed
        let txn = db.beginTransaction()
        #expect(try txn.get(Array("k".utf8)) == Array("1".utf8))
        try db.put("k", "2")
        #expect(try txn.get(Array("k".utf8)) == Array("1".utf8))
        try txn.put(Array("k".utf8), Array("3".utf8))
        var conflicted = false
        do { try txn.commit() } catch DBError.conflict { conflicted = true }
        #expect(conflicted)
        #expect(try db.get("k") == "2")
        try db.close()
    }
}
