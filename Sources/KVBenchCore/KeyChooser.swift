/// Which existing record a read, update, scan or read-modify-write uses:
/// YCSB's CoreWorkload keychooser plus its `nextKeynum` loop, which draws
/// again while the pick lies beyond the last acknowledged insert.
/// One per client thread.
public struct KeyChooser: Sendable {
    enum Generator: Sendable {
        /// UniformLongGenerator(0, records - 1).
        case uniform(count: UInt64)
        case zipfian(ScrambledZipfianGenerator)
        case latest(SkewedLatestGenerator)
    }

    var generator: Generator
    public let counter: InsertCounter

    /// `records` loaded, `operations` and `insertProportion` of the run:
    /// as YCSB, the zipfian key space is sized for the records plus twice
    /// the expected inserts, so popular keys do not move as records are
    /// added (picks not inserted yet are drawn again).
    public init(distribution: KeyDistribution, records: Int64, operations: Int64, insertProportion: Double,
                counter: InsertCounter) {
        self.counter = counter
        switch distribution {
        case .uniform:
            generator = .uniform(count: UInt64(max(records, 1)))
        case .zipfian:
            let expectedNewKeys = Int64(Double(operations) * insertProportion * 2.0)
            generator = .zipfian(ScrambledZipfianGenerator(min: 0, max: records + expectedNewKeys))
        case .latest:
            generator = .latest(SkewedLatestGenerator(lastValue: counter.lastValue))
        }
    }

    public mutating func next(_ rng: inout BenchRandom) -> Int64 {
        var record: Int64
        repeat {
            switch generator {
            case .uniform(let count):
                record = Int64(rng.below(count))
            case .zipfian(var z):
                record = z.next(&rng)
                generator = .zipfian(z)
            case .latest(var z):
                record = z.next(lastValue: counter.lastValue, &rng)
                generator = .latest(z)
            }
        } while record > counter.lastValue
        return record
    }
}
