import Histogram

/// Latencies of one operation type in nanoseconds: an HdrHistogram with 3
/// significant digits (0.1 % resolution) from 1 ns up to 60 s, growing on
/// its own beyond that. One per operation type per thread, merged at the end.
public struct LatencyHistogram: Sendable {
    public private(set) var histogram: Histogram<UInt64>

    public init() {
        histogram = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000,
                              numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
    }

    public mutating func record(nanos: UInt64) {
        histogram.record(nanos)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    public var count: UInt64 { histogram.totalCount }
    public var maxNanos: UInt64 { histogram.maxRecorded }

    /// The latency at `percentile` (0...100), in nanoseconds.
    public func nanos(atPercentile percentile: Double) -> UInt64 {
        count == 0 ? 0 : histogram.valueAtPercentile(percentile)
    }

    /// Cumulative distribution: (latency nanos, fraction of operations at or
    /// below it), one point per distinct recorded bucket, at most
    /// `maxPoints` (evenly thinned, the last point always kept).
    public func cdf(maxPoints: Int = 400) -> [(nanos: UInt64, fraction: Double)] {
        guard count > 0 else { return [] }
        var points: [(nanos: UInt64, fraction: Double)] = []
        for step in histogram.recordedValues() {
            let upper = Swift.min(histogram.highestEquivalentForValue(step.value), maxNanos)
            points.append((upper, Double(step.totalCountToThisValue) / Double(count)))
        }
        guard points.count > maxPoints, maxPoints >= 2 else { return points }
        let stride = Double(points.count - 1) / Double(maxPoints - 1)
        return (0..<maxPoints).map { points[Int((Double($0) * stride).rounded())] }
    }
}

/// One latency histogram per operation type (indexed by the operation's
/// raw value; no dictionary on the hot path).
public struct OperationLatencies: Sendable {
    public private(set) var byOperation: [LatencyHistogram?]

    public init() {
        byOperation = Array(repeating: nil, count: BenchOperation.allCases.count)
    }

    public mutating func record(_ op: BenchOperation, nanos: UInt64) {
        if byOperation[op.rawValue] == nil { byOperation[op.rawValue] = LatencyHistogram() }
        byOperation[op.rawValue]?.record(nanos: nanos)
    }

    public mutating func merge(_ other: OperationLatencies) {
        for op in BenchOperation.allCases {
            guard let theirs = other.byOperation[op.rawValue] else { continue }
            if byOperation[op.rawValue] == nil {
                byOperation[op.rawValue] = theirs
            } else {
                byOperation[op.rawValue]?.merge(theirs)
            }
        }
    }

    public subscript(op: BenchOperation) -> LatencyHistogram? { byOperation[op.rawValue] }

    /// Operation types that recorded something, in YCSB's order.
    public var recorded: [(op: BenchOperation, histogram: LatencyHistogram)] {
        BenchOperation.allCases.compactMap { op in byOperation[op.rawValue].map { (op, $0) } }
    }
}
