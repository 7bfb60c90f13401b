import Foundation
import RingIO
import Synchronization
import Testing
@testable import RingKV

private typealias T = MemTableTestSupport

/// The memtable's point index (MemTablePointIndex.swift): a lookup through
/// it answers exactly what the skiplist search answers, for every key and
/// snapshot, whether the index was installed before the first insert or
/// after some (versions from before it are found by the search), and with
/// a writer inserting meanwhile. RINGKV_SEED replays a run.
@Suite struct MemTablePointIndexTests {
    /// The same inserts into a memtable without an index and one whose
    /// index is installed after `installAfter` of them; every (key,
    /// snapshot) must answer the same. Many versions per key (so reads
    /// below the newest walk), deletions and merge operands among them.
    private static func compareWithPlain(seed: UInt64, installAfter: Int, inserts: Int, keys: Int) {
        var rng = T.Random(seed: seed)
        let plain = MemTable(seed: 7)
        let indexed = MemTable(seed: 7, filterBytes: 4096)
        // Some keys are prefixes of others, one is empty: the walk must
        // stop at the key's last version.
        let keySet: [[UInt8]] = (0..<keys).map { i in i == 0 ? [] : T.bytes("k\(i % 7)") + (i % 3 == 0 ? [] : T.bytes("/\(i)")) }
        let uniqueKeys = Array(Set(keySet))
        for i in 0..<inserts {
            if i == installAfter { indexed.enablePointIndex(memtableBytes: 1 << 20) }
            let key = uniqueKeys[Int.random(in: 0..<uniqueKeys.count, using: &rng)]
            let kind = Int.random(in: 0..<10, using: &rng)
            let type: ValueType = kind == 0 ? .deletion : (kind == 1 ? .merge : .value)
            let value = type == .deletion ? [] : T.bytes("v\(i + 1)")
            T.add(plain, SequenceNumber(i + 1), type, key, value)
            T.add(indexed, SequenceNumber(i + 1), type, key, value)
        }
        if installAfter >= inserts { indexed.enablePointIndex(memtableBytes: 1 << 20) }
        #expect(indexed.hasPointIndex)
        var mismatches = 0
        for key in uniqueKeys + [T.bytes("absent"), T.bytes("k1/"), T.bytes("k")] {
            for snapshot in [SequenceNumber(0), 1, 2] + (0..<40).map({ _ in SequenceNumber(Int.random(in: 0...inserts + 2, using: &rng)) })
                + [SequenceNumber(inserts), InternalKey.maxSequenceNumber] {
                let a = T.get(plain, key, snapshot: snapshot), b = T.get(indexed, key, snapshot: snapshot)
                if a != b {
                    mismatches += 1
                    if mismatches <= 5 {
                        Issue.record("seed \(seed) installAfter \(installAfter): key \(key) at \(snapshot): search \(a), index \(b)")
                    }
                }
            }
        }
        #expect(mismatches == 0, "seed \(seed)")
    }

    @Test func indexAnswersAsTheSkiplistSearchForEveryKeyAndSnapshot() {
        let seed = T.seed()
        print("MemTablePointIndexTests seed \(seed) (RINGKV_SEED replays)")
        var rng = T.Random(seed: seed)
        // Few keys and many versions (walks longer than the walk limit),
        // and many keys with few versions (chains in the small table).
        for (inserts, keys) in [(3000, 12), (5000, 3000)] {
            for installAfter in [0, 1, inserts / 3, inserts] {
                Self.compareWithPlain(seed: rng.next(), installAfter: installAfter, inserts: inserts, keys: keys)
            }
        }
    }

    /// Out-of-order inserts (tests and tools may add versions in any
    /// order): the index keeps the newest version.
    @Test func olderVersionInsertedLaterDoesNotHideTheNewest() {
        let m = MemTable()
        m.enablePointIndex(memtableBytes: 1 << 20)
        T.add(m, 5, .value, T.bytes("k"), T.bytes("v5"))
        T.add(m, 9, .value, T.bytes("k"), T.bytes("v9"))
        T.add(m, 1, .value, T.bytes("k"), T.bytes("v1"))
        #expect(T.get(m, T.bytes("k")) == .found(T.bytes("v9")))
        #expect(T.get(m, T.bytes("k"), snapshot: 8) == .found(T.bytes("v5")))
        #expect(T.get(m, T.bytes("k"), snapshot: 4) == .found(T.bytes("v1")))
        #expect(T.get(m, T.bytes("k"), snapshot: 0) == .notFound)
    }

    /// One writer inserts new versions of a few keys (value = its
    /// sequence) and publishes each sequence after its insert; readers
    /// read at a published sequence and must get the newest version at or
    /// below it — never an older one (a stale index entry) and never one
    /// above it. The index is installed while the writer runs.
    @Test func readersAtPublishedSequencesSeeTheRightVersionWhileAWriterInserts() {
        let seed = T.seed()
        print("MemTablePointIndexTests concurrent seed \(seed) (RINGKV_SEED replays)")
        let keyCount = 16
        let inserts = 60_000
        let memTable = MemTable(seed: seed, filterBytes: 4096)
        let published = Atomic<Int>(0)
        let failures = Locked<[String]>([])
        // Sequence s writes key (s * 7 + seed) % keyCount: the newest
        // version of a key at or below p is computable.
        let offset = Int(seed % 1000)
        @Sendable func key(of sequence: Int) -> Int { (sequence * 7 + offset) % keyCount }
        @Sendable func keyBytes(_ k: Int) -> [UInt8] { T.bytes("key-\(k)") }
        let group = DispatchGroup()
        let writer = Thread {
            for s in 1...inserts {
                if s == inserts / 4 { memTable.enablePointIndex(memtableBytes: 1 << 20) }
                T.add(memTable, SequenceNumber(s), .value, keyBytes(key(of: s)), withUnsafeBytes(of: UInt64(s).littleEndian, Array.init))
                published.store(s, ordering: .releasing)
            }
            group.leave()
        }
        var readers: [Thread] = []
        for r in 0..<2 {
            readers.append(Thread {
                var rng = T.Random(seed: seed &+ UInt64(r))
                var checks = 0
                while published.load(ordering: .acquiring) < inserts || checks < 2000 {
                    let p = published.load(ordering: .acquiring)
                    let k = Int.random(in: 0..<keyCount, using: &rng)
                    // The newest s <= p with key(of: s) == k.
                    var expected = p
                    while expected > 0 && key(of: expected) != k { expected -= 1 }
                    let got = T.get(memTable, keyBytes(k), snapshot: SequenceNumber(p))
                    let want: MemTable.LookupResult = expected == 0 ? .notFound
                        : .found(withUnsafeBytes(of: UInt64(expected).littleEndian, Array.init))
                    if got != want {
                        failures.withLock { if $0.count < 5 { $0.append("key \(k) at \(p): got \(got), want \(want)") } }
                    }
                    checks += 1
                }
                group.leave()
            })
        }
        group.enter()
        for _ in readers { group.enter() }
        writer.start()
        for reader in readers { reader.start() }
        group.wait()
        #expect(memTable.hasPointIndex)
        #expect(failures.withLock { $0 } == [], "seed \(seed)")
    }
}
