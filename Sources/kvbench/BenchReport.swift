/// The numbers of one run, as a table or as the JSON contract of DESIGN.md.
struct BenchReport {
    let config: RunConfig
    let histograms: [(Operation, LatencyHistogram)]
    let found: UInt64
    let reads: UInt64
    let seconds: Double

    init(config: RunConfig, results: [ThreadResult], seconds: Double) {
        self.config = config
        self.seconds = seconds
        var merged: [Operation: LatencyHistogram] = [:]
        for r in results {
            for (op, h) in r.histograms { merged[op, default: LatencyHistogram()].merge(h) }
        }
        histograms = Operation.allCases.compactMap { op in merged[op].map { (op, $0) } }
        found = results.reduce(0) { $0 + $1.found }
        reads = results.reduce(0) { $0 + $1.reads }
    }

    var totalOperations: UInt64 { histograms.reduce(0) { $0 + $1.1.count } }
    var opsPerSecond: Double { seconds > 0 ? Double(totalOperations) / seconds : 0 }

    static func micros(_ nanos: UInt64) -> Double { (Double(nanos) / 10).rounded() / 100 }

    func table() -> String {
        var lines: [String] = []
        lines.append("workload \(config.workload): \(totalOperations) ops, \(config.threads) threads, "
                     + "sync \(config.sync ? "always" : "none"), \(String(format2(seconds))) s, "
                     + "\(Int(opsPerSecond)) ops/s")
        lines.append(pad("op", 8) + pad("count", 10) + pad("p50 us", 10) + pad("p95 us", 10)
                     + pad("p99 us", 10) + pad("p99.9 us", 10) + pad("max us", 10))
        for (op, h) in histograms {
            lines.append(pad(op.rawValue, 8) + pad("\(h.count)", 10)
                         + [0.5, 0.95, 0.99, 0.999].map { pad("\(BenchReport.micros(h.percentile($0)))", 10) }.joined()
                         + pad("\(BenchReport.micros(h.maxNanos))", 10))
        }
        if reads > 0 { lines.append("found \(found) of \(reads) reads") }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        var parts: [String] = []
        for (op, h) in histograms {
            let name = op == .insert ? "insert" : op.rawValue
            parts.append("\"\(name)\":{\"count\":\(h.count),\"p50\":\(BenchReport.micros(h.percentile(0.5))),"
                         + "\"p99\":\(BenchReport.micros(h.percentile(0.99))),"
                         + "\"p999\":\(BenchReport.micros(h.percentile(0.999))),"
                         + "\"max\":\(BenchReport.micros(h.maxNanos))}")
        }
        return "{\"engine\":\"ringkv\",\"workload\":\"\(config.workload)\",\"records\":\(config.records),"
            + "\"operations\":\(totalOperations),\"threads\":\(config.threads),\"seconds\":\(format2(seconds)),"
            + "\"ops_per_sec\":\(format2(opsPerSecond)),\"found\":\(found),"
            + "\"latency_us\":{\(parts.joined(separator: ","))}}"
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    private func format2(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        return "\(scaled)"
    }
}
