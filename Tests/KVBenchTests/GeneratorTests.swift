import Foundation
import KVBenchCore
import Testing

@Suite("kvbench generators")
struct GeneratorTests {
    // MARK: - Keys

    @Test func fnvOfZeroIsTheOffsetBasisTimesThePrimeEightTimes() {
        // Record 0 has eight zero octets: each xor is a no-op, so the hash is
        // basis * prime^8 (mod 2^64), made non-negative.
        var hash = YCSBKeys.fnvOffsetBasis64
        for _ in 0..<8 { hash = hash &* YCSBKeys.fnvPrime64 }
        #expect(hash == -6_284_781_860_667_377_211)  // negative as a Java long: Math.abs flips it
        #expect(YCSBKeys.fnvhash64(0) == -hash)
    }

    @Test func fnvMatchesYCSBsFnvhash64OnKnownValues() {
        // Computed independently (Python, Java long semantics: arithmetic
        // shift, Math.abs).
        #expect(YCSBKeys.fnvhash64(1) == 8_517_097_267_634_966_620)
        #expect(YCSBKeys.fnvhash64(2) == 1_820_151_046_732_198_393)
        #expect(YCSBKeys.fnvhash64(1_000_000) == 1_011_632_231_655_643_464)
        #expect(YCSBKeys.fnvhash64(123_456_789) == 2_350_796_791_908_741_607)
        // Negative input: Java's >> keeps the sign, so every octet is 0xff.
        #expect(YCSBKeys.fnvhash64(-1) == 8_289_690_350_564_177_859)
    }

    @Test func keysAreUserPlusDecimalHash() {
        // "user6284781860667377211" is the first key of every YCSB load.
        #expect(YCSBKeys.keyString(0) == "user6284781860667377211")
        #expect(YCSBKeys.keyString(1) == "user8517097267634966620")
        #expect(YCSBKeys.keyString(2) == "user1820151046732198393")
        var appended = Array("x".utf8)
        YCSBKeys.appendKey(2, to: &appended)
        #expect(appended == Array("xuser1820151046732198393".utf8))
    }

    // MARK: - Determinism

    @Test func sameSeedGivesTheSameSequences() {
        for distribution in KeyDistribution.allCases {
            let a = draw(distribution, seed: 42, thread: 3, count: 2000)
            let b = draw(distribution, seed: 42, thread: 3, count: 2000)
            #expect(a == b, "\(distribution)")
        }
    }

    @Test func seedAndThreadIndexChangeTheSequence() {
        for distribution in KeyDistribution.allCases {
            let base = draw(distribution, seed: 42, thread: 0, count: 2000)
            #expect(base != draw(distribution, seed: 43, thread: 0, count: 2000), "\(distribution)")
            #expect(base != draw(distribution, seed: 42, thread: 1, count: 2000), "\(distribution)")
        }
        // Thread i of seed s is seed s + i.
        var x = BenchRandom(seed: 10, thread: 2)
        var y = BenchRandom(seed: 12)
        #expect((0..<10).map { _ in x.next() } == (0..<10).map { _ in y.next() })
    }

    private func draw(_ distribution: KeyDistribution, seed: UInt64, thread: Int, count: Int) -> [Int64] {
        var rng = BenchRandom(seed: seed, thread: thread)
        var chooser = KeyChooser(distribution: distribution, records: 10_000, operations: 1000,
                                 insertProportion: 0, counter: InsertCounter(start: 10_000))
        return (0..<count).map { _ in chooser.next(&rng) }
    }

    // MARK: - Distributions

    @Test func zipfianRankFrequenciesMatchTheory() {
        let seed = testSeed()
        let n: Int64 = 1000
        let samples = 200_000
        var rng = BenchRandom(seed: seed)
        var zipf = ZipfianGenerator(items: n)
        var counts = [Int](repeating: 0, count: Int(n))
        for _ in 0..<samples {
            let v = zipf.next(&rng)
            #expect(v >= 0 && v < n, "seed \(seed)")
            counts[Int(v)] += 1
        }
        let zetan = ZipfianGenerator.zeta(n, theta: 0.99)
        #expect(abs(zetan - 7.728953217284729) < 1e-9)
        // P(rank 1) = 1/zeta(n), P(rank 2) = 2^-0.99/zeta(n): exact in Gray's
        // method. About 9 standard deviations of slack at 200k samples.
        let p0 = Double(counts[0]) / Double(samples)
        let p1 = Double(counts[1]) / Double(samples)
        #expect(abs(p0 / (1 / zetan) - 1) < 0.05, "rank 1: \(p0) vs \(1 / zetan), seed \(seed)")
        #expect(abs(p1 / (pow(2, -0.99) / zetan) - 1) < 0.07, "rank 2: \(p1), seed \(seed)")
        // Beyond rank 2 the closed form approximates: the top 10 together
        // within 10 %, and frequencies fall with rank.
        let top10 = Double(counts[0..<10].reduce(0, +)) / Double(samples)
        let expectedTop10 = (1...10).reduce(0.0) { $0 + 1 / pow(Double($1), 0.99) } / zetan
        #expect(abs(top10 / expectedTop10 - 1) < 0.10, "top 10: \(top10) vs \(expectedTop10), seed \(seed)")
        #expect(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[500], "seed \(seed)")
    }

    @Test func scrambledZipfianHotKeyIsTheHashOfRankOne() {
        let seed = testSeed()
        let records: Int64 = 2000
        var rng = BenchRandom(seed: seed)
        var chooser = KeyChooser(distribution: .zipfian, records: records, operations: 0, insertProportion: 0,
                                 counter: InsertCounter(start: records))
        var counts = [Int64: Int]()
        let samples = 200_000
        for _ in 0..<samples {
            let v = chooser.next(&rng)
            #expect(v >= 0 && v < records, "seed \(seed)")
            counts[v, default: 0] += 1
        }
        // YCSB sizes the space records + 1 (max is inclusive), so the hottest
        // record is fnvhash64(0) % 2001, drawn with P = 1/ZETAN (divided by
        // 2000/2001 for the one redrawn slot, which is negligible here).
        let hot = YCSBKeys.fnvhash64(0) % (records + 1)
        #expect(hot == 1560)
        let top = counts.max { $0.value < $1.value }
        #expect(top?.key == hot, "seed \(seed)")
        let share = Double(counts[hot] ?? 0) / Double(samples)
        // Other zipfian ranks that hash to the same record add a little.
        #expect(share > 0.9 / ScrambledZipfianGenerator.zetan && share < 1.2 / ScrambledZipfianGenerator.zetan,
                "share \(share), seed \(seed)")
    }

    @Test func uniformCoversTheLoadedRecordsEvenly() {
        let seed = testSeed()
        var rng = BenchRandom(seed: seed)
        var chooser = KeyChooser(distribution: .uniform, records: 100, operations: 0, insertProportion: 0,
                                 counter: InsertCounter(start: 100))
        var counts = [Int](repeating: 0, count: 100)
        for _ in 0..<100_000 { counts[Int(chooser.next(&rng))] += 1 }
        // Expected 1000 each, sd ~31.
        #expect(counts.min()! > 800 && counts.max()! < 1200, "seed \(seed)")
    }

    @Test func latestFavoursTheNewestAcknowledgedRecord() {
        let seed = testSeed()
        var rng = BenchRandom(seed: seed)
        let counter = InsertCounter(start: 1000)
        var chooser = KeyChooser(distribution: .latest, records: 1000, operations: 0, insertProportion: 0.05,
                                 counter: counter)
        var counts = [Int64: Int]()
        for _ in 0..<50_000 { counts[chooser.next(&rng), default: 0] += 1 }
        #expect(counts.keys.allSatisfy { $0 <= 999 && $0 >= 0 }, "seed \(seed)")
        // newest - zipfian(newest): record 999 is rank 1.
        #expect(counts.max { $0.value < $1.value }?.key == 999, "seed \(seed)")
        // An insert not yet acknowledged is never chosen; once it is, it
        // becomes the hottest.
        let record = counter.next()
        #expect(record == 1000)
        for _ in 0..<1000 { #expect(chooser.next(&rng) <= 999) }
        counter.acknowledge(record)
        var after = [Int64: Int]()
        for _ in 0..<50_000 { after[chooser.next(&rng), default: 0] += 1 }
        #expect(after.max { $0.value < $1.value }?.key == 1000, "seed \(seed)")
    }

    @Test func insertCounterAdvancesOnlyOverContiguousAcknowledgements() {
        let counter = InsertCounter(start: 10)
        #expect(counter.lastValue == 9)
        let a = counter.next(), b = counter.next(), c = counter.next()
        #expect([a, b, c] == [10, 11, 12])
        counter.acknowledge(c)
        counter.acknowledge(b)
        #expect(counter.lastValue == 9)
        counter.acknowledge(a)
        #expect(counter.lastValue == 12)
    }

    @Test func insertCounterReachesTheLastRecordWhenThreadsAcknowledgeOutOfOrder() async {
        // 4 tasks take record numbers and acknowledge them in shuffled
        // batches, some far ahead of others (beyond the slot window too).
        let counter = InsertCounter(start: 0)
        let perTask = 3 * InsertCounter.windowSize / 2
        let seed = testSeed()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    var rng = BenchRandom(seed: seed, thread: task)
                    var held: [Int64] = []
                    for _ in 0..<perTask {
                        held.append(counter.next())
                        if held.count == 64 || rng.below(50) == 0 {
                            for i in held.indices.reversed() { held.swapAt(i, Int(rng.below(UInt64(i + 1)))) }
                            for record in held { counter.acknowledge(record) }
                            held.removeAll()
                        }
                    }
                    for record in held { counter.acknowledge(record) }
                }
            }
        }
        #expect(counter.lastValue == Int64(4 * perTask - 1), "seed \(seed)")
    }

    @Test func randomUnitAndBoundedValuesStayInRange() {
        var rng = BenchRandom(seed: 7)
        for _ in 0..<10_000 {
            let u = rng.nextDouble()
            #expect(u >= 0 && u < 1)
            let b = rng.below(100)
            #expect(b < 100)
        }
        #expect(rng.below(0) == 0)
    }

    // MARK: - Workloads

    @Test func workloadMixesAreYCSBsCoreWorkloads() {
        func shares(_ w: Workload) -> [BenchOperation: Double] {
            var counts = [BenchOperation: Int]()
            for i in 0..<10_000 { counts[w.mix.pick((Double(i) + 0.5) / 10_000), default: 0] += 1 }
            return counts.mapValues { Double($0) / 10_000 }
        }
        #expect(shares(.a) == [.read: 0.5, .update: 0.5])
        #expect(shares(.b) == [.read: 0.95, .update: 0.05])
        #expect(shares(.c) == [.read: 1])
        #expect(shares(.d) == [.read: 0.95, .insert: 0.05])
        #expect(shares(.e) == [.scan: 0.95, .insert: 0.05])
        #expect(shares(.f) == [.read: 0.5, .readModifyWrite: 0.5])
        #expect(Workload.d.mix.distribution == .latest)
        #expect([Workload.a, .b, .c, .e, .f].allSatisfy { $0.mix.distribution == .zipfian })
        #expect(Workload.e.mix.maxScanLength == 100)
    }
}
