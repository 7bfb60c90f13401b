/// YCSB's key and request generators (core workload semantics).

/// FNV-1a over the 8 bytes of `value` (low byte first), as YCSB's
/// Utils.fnvhash64, with the sign dropped as Math.abs does.
func fnv1a64(_ value: UInt64) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    var v = value
    for _ in 0..<8 {
        hash ^= v & 0xff
        hash = hash &* 0x0000_0100_0000_01B3
        v >>= 8
    }
    let signed = Int64(bitPattern: hash)
    return signed == Int64.min ? UInt64(bitPattern: signed) : UInt64(abs(signed))
}

/// "user" + decimal FNV-1a-64 of the record number.
func ycsbKey(_ record: UInt64) -> [UInt8] { Array("user\(fnv1a64(record))".utf8) }

/// xorshift64*: per-thread, seeded, cheap.
struct FastRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func below(_ n: UInt64) -> UInt64 { n == 0 ? 0 : next() % n }
}

/// Gray et al.'s zipfian generator over [0, items), as YCSB's
/// ZipfianGenerator, with zeta computed once for `items`.
struct Zipfian {
    let items: UInt64
    let theta: Double
    let alpha: Double
    let zetan: Double
    let eta: Double
    let zeta2: Double

    init(items: UInt64, theta: Double = 0.99, zetan precomputed: Double? = nil) {
        self.items = items
        self.theta = theta
        zeta2 = Zipfian.zeta(2, theta)
        alpha = 1 / (1 - theta)
        zetan = precomputed ?? Zipfian.zeta(items, theta)
        eta = (1 - pow(2 / Double(items), 1 - theta)) / (1 - zeta2 / zetan)
    }

    static func zeta(_ n: UInt64, _ theta: Double) -> Double {
        var sum = 0.0
        var i: UInt64 = 1
        while i <= n {
            sum += 1 / pow(Double(i), theta)
            i += 1
        }
        return sum
    }

    func next(_ rng: inout FastRandom) -> UInt64 {
        let u = rng.unit()
        let uz = u * zetan
        if uz < 1 { return 0 }
        if uz < 1 + pow(0.5, theta) { return 1 }
        let v = UInt64(Double(items) * pow(eta * u - eta + 1, alpha))
        return min(v, items - 1)
    }
}

/// YCSB's ScrambledZipfianGenerator: zipfian over a huge item space
/// (10^10, with its precomputed zeta), hashed, modulo the record count, so
/// popular items are spread over the key space.
struct ScrambledZipfian {
    static let itemCount: UInt64 = 10_000_000_000
    static let zetan = 26.46902820178302
    let zipfian = Zipfian(items: ScrambledZipfian.itemCount, theta: 0.99, zetan: ScrambledZipfian.zetan)
    let records: UInt64

    func next(_ rng: inout FastRandom) -> UInt64 {
        fnv1a64(zipfian.next(&rng)) % records
    }
}

/// Which record a read/update picks.
enum KeyChooser {
    case uniform(UInt64)
    case zipfian(ScrambledZipfian)
    /// Skewed towards the most recently inserted records (YCSB's
    /// SkewedLatestGenerator): newest - zipfian(newest).
    case latest(Zipfian)

    func next(_ rng: inout FastRandom, insertedCount: UInt64) -> UInt64 {
        switch self {
        case .uniform(let n): return rng.below(n)
        case .zipfian(let z): return z.next(&rng)
        case .latest(let z):
            let newest = max(insertedCount, 1) - 1
            let back = z.next(&rng) % (newest + 1)
            return newest - back
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
