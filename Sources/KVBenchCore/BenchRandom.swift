/// The benchmark's random source: xoshiro256** seeded through SplitMix64, so
/// nearby seeds (`--seed` + thread index) give unrelated streams. Each
/// client thread owns one; nothing here is shared.
public struct BenchRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = BenchRandom.splitMix64(&sm)
        s1 = BenchRandom.splitMix64(&sm)
        s2 = BenchRandom.splitMix64(&sm)
        s3 = BenchRandom.splitMix64(&sm)
    }

    /// The generator of client thread `thread` for run seed `seed`.
    public init(seed: UInt64, thread: Int) {
        self.init(seed: seed &+ UInt64(thread))
    }

    static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = BenchRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = BenchRandom.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits (Java's nextDouble resolution).
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [0, bound) (Lemire's multiply-shift; bias < 2^-64 * bound).
    public mutating func below(_ bound: UInt64) -> UInt64 {
        bound == 0 ? 0 : next().multipliedFullWidth(by: bound).high
    }
}
