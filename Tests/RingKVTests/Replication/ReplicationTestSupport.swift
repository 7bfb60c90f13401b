import Glibc
import Testing
@testable import RingKV

/// Shared pieces of the change feed and replica tests.
enum ReplicationFixtures {
    static let keyspaceNames = ["default", "users", "logs"]

    /// Small memtables and a generous WAL retention: log switches and
    /// flushes happen all along, and the feed still finds every log.
    static func primaryOptions(memtableBytes: Int = 64 << 10, retentionBytes: Int = 1 << 30) -> Options {
        var options = openOptions(memtableBytes: memtableBytes)
        options.walPreallocateBytes = 64 << 10
        options.changeRetentionBytes = retentionBytes
        options.mergeOperator = CounterMerge()
        return options
    }

    static func replicaOptions() -> Options {
        var options = openOptions(memtableBytes: 256 << 10)
        options.replica = true
        options.mergeOperator = CounterMerge()
        return options
    }

    /// Every row of every keyspace of `db`, by keyspace name.
    static func contents(_ db: DB) throws -> [String: [[UInt8]: [UInt8]]] {
        var all: [String: [[UInt8]: [UInt8]]] = [:]
        for name in db.keyspaceNames() {
            let handle = try db.existingKeyspace(name)
            var rows: [[UInt8]: [UInt8]] = [:]
            for row in try handle.scan() { rows[row.key] = row.value }
            all[name] = rows
        }
        return all
    }

    /// A change putting `value` at `key` in `keyspace` (what `apply` takes).
    static func put(_ keyspace: String, _ key: String, _ value: [UInt8]) -> Change {
        .put(keyspace: keyspace, key: bytes(key), value: value)
    }

    /// Applies the primary's feed to `replica` until it has reached `end`
    /// (the primary's latest sequence when nil); returns at once when it
    /// already has (the feed would wait for the next write).
    static func follow(_ primary: DB, into replica: DB, through end: UInt64? = nil) async throws {
        let end = end ?? primary.latestSequence
        guard replica.latestSequence < end else { return }
        for try await batch in primary.changes(since: replica.latestSequence) {
            try await replica.apply(batch)
            if batch.lastSequence >= end { break }
        }
    }

    /// Random mixed writes: puts, deletes, range deletions, merges into
    /// counters and batches
    /// across `keyspaces`; `count` operations in all.
    static func writeRandomOperations(_ db: DB, keyspaces: [Keyspace], count: Int,
                                      rng: inout SeededRandom) throws {
        var done = 0
        func key(_ rng: inout SeededRandom) -> [UInt8] { Array("k\(Int.random(in: 0..<4000, using: &rng))".utf8) }
        while done < count {
            let ks = keyspaces[Int.random(in: 0..<keyspaces.count, using: &rng)]
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<55:
                try ks.put(key(&rng), Array(repeating: UInt8.random(in: 0...255, using: &rng),
                                            count: Int.random(in: 0...64, using: &rng)))
                done += 1
            case 55..<70:
                try ks.delete(key(&rng))
                done += 1
            case 70..<73:
                var a = key(&rng), b = key(&rng)
                if b.lexicographicallyPrecedes(a) { swap(&a, &b) }
                try ks.deleteRange(from: a, to: b)
                done += 1
            case 73..<80:
                // Counters ("c…": never put, so CounterMerge can read them).
                try ks.merge(Array("c\(Int.random(in: 0..<50, using: &rng))".utf8),
                             CounterMerge.operand(Int64.random(in: -5...10, using: &rng)))
                done += 1
            default:
                var batch = WriteBatch()
                let n = Int.random(in: 1...20, using: &rng)
                for _ in 0..<n {
                    let target = keyspaces[Int.random(in: 0..<keyspaces.count, using: &rng)]
                    if Bool.random(using: &rng) {
                        batch.put(key(&rng), Array("v\(done)".utf8), in: target)
                    } else {
                        batch.delete(key(&rng), in: target)
                    }
                }
                try db.write(batch)
                done += n
            }
        }
    }
}

/// Runs `body` synchronously: inside it, `db.put` and the like resolve to
/// the blocking overloads even in an async test.
func blocking<T>(_ body: () throws -> T) rethrows -> T { try body() }
