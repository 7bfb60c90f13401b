/// The numbers of one run as a table (for people) or as the JSON object of
/// docs/BENCHMARKS.md §JSON (for scripts).
public enum BenchReport {
    /// Percentiles in the table and in the report page.
    public static let tablePercentiles: [(label: String, percentile: Double)] = [
        ("p50", 50), ("p95", 95), ("p99", 99), ("p99.9", 99.9),
    ]

    /// Nanoseconds as microseconds with two decimals.
    public static func micros(_ nanos: UInt64) -> Double {
        (Double(nanos) / 10).rounded() / 100
    }

    public static func table(_ result: RunResult) -> String {
        let c = result.config
        var lines: [String] = []
        var header = "workload \(c.workload.rawValue): \(result.operations) ops in \(fixed(result.seconds, 2)) s = "
            + "\(fixed(result.opsPerSecond, 0)) ops/s (\(c.records) records, \(c.threads) threads, "
        if c.workload != .load { header += "\(c.distribution.rawValue), " }
        header += "sync \(c.sync ? "always" : "none"), value \(c.valueSizeBytes) B)"
        lines.append(header)
        var rows: [[String]] = [["op", "count", "ops/s"] + tablePercentiles.map { "\($0.label) us" } + ["max us"]]
        for (op, h) in result.latencies.recorded {
            let rate = result.seconds > 0 ? Double(h.count) / result.seconds : 0
            rows.append([op.name, "\(h.count)", fixed(rate, 0)]
                        + tablePercentiles.map { fixed(micros(h.nanos(atPercentile: $0.percentile)), 2) }
                        + [fixed(micros(h.maxNanos), 2)])
        }
        let widths = (0..<rows[0].count).map { col in rows.map { $0[col].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { col, cell in
                col == 0 ? cell.padding(to: widths[col]) : cell.padding(left: widths[col])
            }
            lines.append(cells.joined(separator: "  "))
        }
        if result.reads > 0 { lines.append("found \(result.found) of \(result.reads) reads") }
        if let io = result.engineIO { lines += io.lines(result) }
        return lines.joined(separator: "\n")
    }

    /// Exactly the object of docs/BENCHMARKS.md §JSON: engine, workload, records, operations,
    /// threads, seconds, ops_per_sec, found, and latency_us with count, p50,
    /// p99, p999 and max (microseconds) per operation type; then, when
    /// measured, the extra object `io` (`EngineIO`). One line.
    public static func json(_ result: RunResult) -> String {
        let c = result.config
        let latency = result.latencies.recorded.map { op, h in
            "\"\(op.name)\":{\"count\":\(h.count),"
                + "\"p50\":\(jsonNumber(micros(h.nanos(atPercentile: 50)))),"
                + "\"p99\":\(jsonNumber(micros(h.nanos(atPercentile: 99)))),"
                + "\"p999\":\(jsonNumber(micros(h.nanos(atPercentile: 99.9)))),"
                + "\"max\":\(jsonNumber(micros(h.maxNanos)))}"
        }
        return "{\"engine\":\"ringkv\",\"workload\":\"\(c.workload.rawValue)\",\"records\":\(c.records),"
            + "\"operations\":\(result.operations),\"threads\":\(c.threads),"
            + "\"seconds\":\(jsonNumber(result.seconds, decimals: 3)),"
            + "\"ops_per_sec\":\(jsonNumber(result.opsPerSecond, decimals: 1)),"
            + "\"found\":\(result.found),\"reads\":\(result.reads),"
            + "\"latency_us\":{\(latency.joined(separator: ","))}"
            + (result.engineIO.map { ",\"io\":" + $0.json(result) } ?? "") + "}"
    }

    /// A finite JSON number (NaN and infinities become 0).
    static func jsonNumber(_ x: Double, decimals: Int = 2) -> String {
        x.isFinite ? fixed(x, decimals) : "0"
    }

    /// `x` with exactly `decimals` decimals, no exponent (Foundation-free
    /// String(format: "%.*f")).
    public static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9.0e18 else { return "\(x)" }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let sign = x < 0 && units > 0 ? "-" : ""
        guard decimals > 0 else { return "\(sign)\(whole)" }
        let fraction = String(units % UInt64(scale))
        return "\(sign)\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func padding(left width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
