import Glibc

/// YCSB's ZipfianGenerator: Gray et al., "Quickly Generating Billion-Record
/// Synthetic Databases" (SIGMOD 1994). Item `base` is the most popular, then
/// `base + 1`, ...; P(rank k) is proportional to 1 / k^theta (exact for the
/// first two ranks, approximated by a closed form beyond).
///
/// Like YCSB's, `nextLong(itemCount)` accepts a growing item count and
/// extends zeta incrementally (SkewedLatestGenerator relies on it); eta is
/// then recomputed from the *constructed* item count, as YCSB does.
public struct ZipfianGenerator: Sendable {
    /// YCSB's `ZIPFIAN_CONSTANT`.
    public static let defaultConstant = 0.99

    public let base: Int64
    /// Items at construction (max - min + 1).
    public let items: Int64
    public let theta: Double
    let zeta2theta: Double
    let alpha: Double
    public private(set) var zetan: Double
    var eta: Double
    /// The item count `zetan` was computed for.
    private(set) var countForZeta: Int64

    /// Items `min...max`; `zetan` when known (it costs `items` pow calls).
    public init(min: Int64, max: Int64, constant: Double = ZipfianGenerator.defaultConstant, zetan: Double? = nil) {
        precondition(max >= min, "ZipfianGenerator: empty range \(min)...\(max)")
        base = min
        items = max - min + 1
        theta = constant
        zeta2theta = ZipfianGenerator.zeta(2, theta: constant)
        alpha = 1.0 / (1.0 - constant)
        let zn = zetan ?? ZipfianGenerator.zeta(items, theta: constant)
        self.zetan = zn
        countForZeta = items
        eta = (1 - pow(2.0 / Double(items), 1 - constant)) / (1 - zeta2theta / zn)
    }

    /// Items `0..<items`.
    public init(items: Int64, constant: Double = ZipfianGenerator.defaultConstant) {
        self.init(min: 0, max: items - 1, constant: constant)
    }

    /// zeta(n, theta) = sum over i in 1...n of 1 / i^theta.
    public static func zeta(_ n: Int64, theta: Double) -> Double {
        zeta(from: 0, to: n, theta: theta, initialSum: 0)
    }

    /// `initialSum` (zeta of `start`) plus the terms start+1 ... n.
    public static func zeta(from start: Int64, to n: Int64, theta: Double, initialSum: Double) -> Double {
        var sum = initialSum
        var i = start
        while i < n {
            sum += 1 / pow(Double(i + 1), theta)
            i += 1
        }
        return sum
    }

    /// The next value over the constructed item count.
    public mutating func next(_ rng: inout BenchRandom) -> Int64 {
        nextLong(items, &rng)
    }

    /// The next value in `base ..< base + itemCount` (YCSB's nextLong).
    public mutating func nextLong(_ itemCount: Int64, _ rng: inout BenchRandom) -> Int64 {
        if itemCount > countForZeta {
            zetan = ZipfianGenerator.zeta(from: countForZeta, to: itemCount, theta: theta, initialSum: zetan)
            countForZeta = itemCount
            eta = (1 - pow(2.0 / Double(items), 1 - theta)) / (1 - zeta2theta / zetan)
        }
        let u = rng.nextDouble()
        let uz = u * zetan
        if uz < 1.0 { return base }
        if uz < 1.0 + pow(0.5, theta) { return base + 1 }
        let offset = Double(itemCount) * pow(eta * u - eta + 1, alpha)
        // Java's (long) cast truncates; the closed form can round up to
        // itemCount itself when u is within an ulp of 1.
        return base + Swift.min(Int64(offset), Swift.max(itemCount - 1, 0))
    }
}

/// YCSB's ScrambledZipfianGenerator: zipfian over a fixed space of 10^10
/// items (with YCSB's precomputed zeta), each value hashed with fnvhash64
/// and reduced modulo the item count. Popular items are thus spread over
/// the key space, and the popularity ranking does not change when the
/// item count changes.
public struct ScrambledZipfianGenerator: Sendable {
    /// YCSB's `ITEM_COUNT`.
    public static let itemSpace: Int64 = 10_000_000_000
    /// YCSB's `ZETAN`: zeta(10^10, 0.99).
    public static let zetan = 26.46902820178302

    public let min: Int64
    public let max: Int64
    public let itemCount: Int64
    var zipfian: ZipfianGenerator

    public init(min: Int64, max: Int64) {
        self.min = min
        self.max = max
        itemCount = max - min + 1
        zipfian = ZipfianGenerator(min: 0, max: ScrambledZipfianGenerator.itemSpace,
                                   constant: ZipfianGenerator.defaultConstant,
                                   zetan: ScrambledZipfianGenerator.zetan)
    }

    public mutating func next(_ rng: inout BenchRandom) -> Int64 {
        min + YCSBKeys.fnvhash64(zipfian.next(&rng)) % itemCount
    }
}

/// YCSB's SkewedLatestGenerator: the newest acknowledged record is the most
/// popular, then the one before it, ... (zipfian over the distance back).
public struct SkewedLatestGenerator: Sendable {
    var zipfian: ZipfianGenerator

    /// `lastValue`: the newest record when the generator is made.
    public init(lastValue: Int64) {
        zipfian = ZipfianGenerator(items: Swift.max(lastValue, 1))
    }

    /// A record in `0...lastValue`, skewed towards `lastValue`.
    public mutating func next(lastValue: Int64, _ rng: inout BenchRandom) -> Int64 {
        guard lastValue > 0 else { return 0 }
        return lastValue - zipfian.nextLong(lastValue, &rng)
    }
}
