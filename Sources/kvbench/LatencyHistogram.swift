/// Latency recorder with log-linear buckets (~1.5 % resolution) from 0.1 µs
/// to ~1000 s: constant memory, cheap to record, mergeable across threads.
struct LatencyHistogram {
    private static let subBuckets = 64
    private var counts = [UInt64](repeating: 0, count: 64 * 48)
    private(set) var count: UInt64 = 0
    private(set) var maxNanos: UInt64 = 0

    mutating func record(nanos: UInt64) {
        counts[LatencyHistogram.bucket(nanos)] += 1
        count += 1
        maxNanos = max(maxNanos, nanos)
    }

    static func bucket(_ nanos: UInt64) -> Int {
        let v = max(nanos, 1)
        let magnitude = 63 - v.leadingZeroBitCount  // floor(log2 v)
        if magnitude < 6 { return Int(v) }
        let shift = magnitude - 5
        let sub = Int((v >> UInt64(shift)) & 31)
        return min((magnitude - 4) * 32 + sub, 64 * 48 - 1)
    }

    static func lowerBound(_ bucket: Int) -> UInt64 {
        if bucket < 64 { return UInt64(bucket) }
        let magnitude = bucket / 32 + 4
        let sub = UInt64(bucket % 32)
        return (32 + sub) << UInt64(magnitude - 5)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        count += other.count
        maxNanos = max(maxNanos, other.maxNanos)
    }

    /// The value at quantile `q` (0...1), in nanoseconds.
    func percentile(_ q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * q).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= max(rank, 1) { return min(LatencyHistogram.lowerBound(i), maxNanos) }
        }
        return maxNanos
    }
}
