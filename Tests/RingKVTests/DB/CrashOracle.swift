@testable import RingKV

/// The exact oracle of the kill -9 tests (CrashTests, `tools/crashloop`):
/// what the database must hold after crashwriter was SIGKILLed and the
/// directory reopened.
///
/// Each crashwriter thread runs its operations one after another and
/// reports an operation ("ack t op") only after every write of it returned.
/// So when the last report of thread t names op L, ops 0...L are
/// acknowledged and all of them must have taken effect — every put with its
/// value, every point delete and every range deletion — and op L + 1 is the
/// only one of t that can have been in flight. Its writes are atomic and
/// issued in order, so exactly a prefix of them (none, some, or all) may
/// have taken effect. Nothing else may differ from the state the previous
/// cycle left: a key present that should be absent is a phantom, a key
/// absent or with another value than acknowledged is lost.
///
/// The state the previous cycle left is the database as this oracle found
/// it (after its check), so a directory reused over many cycles is checked
/// exactly too; the comparison is a scan of the whole database.
struct CrashOracle {
    /// One mutation of an atomic write.
    enum Mutation {
        case put(key: [UInt8], value: [UInt8])
        case delete(key: [UInt8])
        /// crashwriter's range deletions cover one group of 8 range keys of
        /// one thread: `thread` and `group` name the keys it may cover.
        case deleteRange(from: [UInt8], to: [UInt8], thread: Int, group: Int)
    }

    // MARK: - crashwriter's operations (Sources/crashwriter/main.swift)

    static func key(_ thread: Int, _ op: Int) -> [UInt8] { Array("t\(thread)-k\(op)".utf8) }
    static func rangeKey(_ thread: Int, _ op: Int) -> [UInt8] { Array("t\(thread)-r\(op / 8)-\(op % 8)".utf8) }
    static func value(_ thread: Int, _ op: Int, _ seed: Int) -> [UInt8] {
        Array("v\(seed)-\(thread)-\(op)-".utf8) + [UInt8](repeating: UInt8(op & 0xff), count: (op * 7) % 300)
    }

    /// The atomic writes of operation `op` of `thread` in a run with
    /// `seed`, in the order crashwriter issues them: put key(op) (in a batch
    /// that also deletes key(op - 3) when op % 4 == 3), put rangeKey(op),
    /// and when op % 8 == 7 a deleteRange over rangeKey(op - 7 ... op - 3).
    static func writes(thread: Int, op: Int, seed: Int) -> [[Mutation]] {
        var writes: [[Mutation]] = []
        let put = Mutation.put(key: key(thread, op), value: value(thread, op, seed))
        writes.append(op % 4 == 3 ? [put, .delete(key: key(thread, op - 3))] : [put])
        writes.append([.put(key: rangeKey(thread, op), value: value(thread, op, seed))])
        if op % 8 == 7 {
            let group = op / 8
            writes.append([.deleteRange(from: Array("t\(thread)-r\(group)-0".utf8),
                                        to: Array("t\(thread)-r\(group)-5".utf8), thread: thread, group: group)])
        }
        return writes
    }

    /// The keys a mutation may change.
    static func keys(of mutation: Mutation) -> [[UInt8]] {
        switch mutation {
        case .put(let key, _), .delete(let key):
            return [key]
        case .deleteRange(let from, let to, let thread, let group):
            return (0..<8).map { rangeKey(thread, group * 8 + $0) }
                .filter { !$0.lexicographicallyPrecedes(from) && $0.lexicographicallyPrecedes(to) }
        }
    }

    static func apply(_ write: [Mutation], to state: inout [[UInt8]: [UInt8]]) {
        for mutation in write {
            switch mutation {
            case .put(let key, let value): state[key] = value
            case .delete(let key): state[key] = nil
            case .deleteRange: for key in keys(of: mutation) { state[key] = nil }
            }
        }
    }

    // MARK: - Checking

    /// What one check found.
    struct Verdict {
        /// Operations acknowledged in this run, over all threads.
        var acknowledgedOps = 0
        /// In-flight operations (one per thread that ran) by how much of
        /// them took effect: none of their writes, some, all.
        var inFlightNone = 0, inFlightPart = 0, inFlightAll = 0
        /// Keys that must hold a value but are absent or hold another
        /// one: an acknowledged put lost, or a deleted key back with an
        /// older value.
        var lost = 0
        /// Keys present that must be absent: deleted by an acknowledged
        /// delete or range deletion, or never written.
        var phantom = 0
        /// In-flight operations whose effect is not a prefix of their
        /// writes (a later write without an earlier one, or half a batch).
        var torn = 0
        /// The first few differences, for the test's messages.
        var messages: [String] = []

        var failed: Bool { lost + phantom + torn > 0 }

        mutating func add(_ other: Verdict) {
            acknowledgedOps += other.acknowledgedOps
            inFlightNone += other.inFlightNone
            inFlightPart += other.inFlightPart
            inFlightAll += other.inFlightAll
            lost += other.lost
            phantom += other.phantom
            torn += other.torn
        }
    }

    /// The database as the last check found it (empty for a new one).
    private(set) var state: [[UInt8]: [UInt8]] = [:]

    /// Checks `db` after a run with `seed` of `threads` writer threads
    /// whose last acknowledged operations were `acked` (thread -> op; a
    /// thread that acknowledged nothing is absent). Afterwards the oracle's
    /// state is what `db` holds.
    mutating func check(_ db: DB, seed: Int, threads: Int, acked: [Int: Int]) throws -> Verdict {
        var verdict = Verdict()
        var expected = state
        // The in-flight operation of each thread: its writes, the keys
        // they touch, and those keys' values after each prefix of them.
        var inFlight: [(thread: Int, keys: [[UInt8]], prefixes: [[[UInt8]?]])] = []
        var uncertain = Set<[UInt8]>()
        for thread in 0..<threads {
            let last = acked[thread] ?? -1
            if last >= 0 {
                for op in 0...last {
                    for write in Self.writes(thread: thread, op: op, seed: seed) { Self.apply(write, to: &expected) }
                }
                verdict.acknowledgedOps += last + 1
            }
            let writes = Self.writes(thread: thread, op: last + 1, seed: seed)
            var keys: [[UInt8]] = []
            for mutation in writes.joined() {
                for key in Self.keys(of: mutation) where !keys.contains(key) { keys.append(key) }
            }
            var partial: [[UInt8]: [UInt8]] = [:]
            for key in keys { partial[key] = expected[key] }
            var prefixes = [keys.map { partial[$0] }]
            for write in writes {
                Self.apply(write, to: &partial)
                prefixes.append(keys.map { partial[$0] })
            }
            inFlight.append((thread, keys, prefixes))
            uncertain.formUnion(keys)
        }

        var actual: [[UInt8]: [UInt8]] = [:]
        for row in try db.scan() { actual[row.key] = row.value }

        for key in Set(expected.keys).union(actual.keys) where !uncertain.contains(key) {
            let want = expected[key], got = actual[key]
            guard want != got else { continue }
            if want == nil { verdict.phantom += 1 } else { verdict.lost += 1 }
            if verdict.messages.count < 5 {
                verdict.messages.append("\(want == nil ? "phantom" : "lost"): \(Self.show(key)) = \(Self.show(got)), "
                                        + "expected \(Self.show(want))")
            }
        }
        for op in inFlight {
            let got = op.keys.map { actual[$0] }
            // The longest prefix that matches (a write may change nothing).
            guard let applied = op.prefixes.lastIndex(where: { $0 == got }) else {
                verdict.torn += 1
                if verdict.messages.count < 5 {
                    verdict.messages.append("torn in-flight op of thread \(op.thread): "
                                            + zip(op.keys, got).map { "\(Self.show($0)) = \(Self.show($1))" }
                                                .joined(separator: ", "))
                }
                continue
            }
            if applied == 0 {
                verdict.inFlightNone += 1
            } else if applied == op.prefixes.count - 1 {
                verdict.inFlightAll += 1
            } else {
                verdict.inFlightPart += 1
            }
        }
        state = actual
        return verdict
    }

    /// At most 24 bytes, the unprintable ones as \xNN.
    static func show(_ bytes: [UInt8]?) -> String {
        guard let bytes else { return "nil" }
        let text = bytes.prefix(24).map { byte in
            (0x20..<0x7f).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
        }.joined()
        return bytes.count > 24 ? text + "…(\(bytes.count) B)" : text
    }
}
