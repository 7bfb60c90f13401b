import Glibc

/// `kvbench --report FILE.html|FILE.svg`: throughput over time (one point
/// per second) and the latency CDF of every operation type, as inline SVG.
/// The page is self-contained (no scripts, fonts or links) and well-formed
/// XHTML, so XML tools can check it.
public enum HTMLReport {
    /// Colors per operation type (read, update, insert, scan, rmw).
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]

    public static func html(_ result: RunResult) -> String {
        let c = result.config
        var out: [String] = []
        out.append("<!DOCTYPE html>")
        out.append("<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">")
        out.append("<head>")
        out.append("<meta charset=\"utf-8\"/>")
        out.append("<title>\(xmlEscape(title(result)))</title>")
        out.append("<style>body{font-family:sans-serif;margin:24px;color:#222}"
                   + "table{border-collapse:collapse;margin:12px 0}"
                   + "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
                   + "th:first-child,td:first-child{text-align:left}svg.chart{display:block;margin:16px 0}</style>")
        out.append("</head>")
        out.append("<body>")
        out.append("<h1>\(xmlEscape(title(result)))</h1>")
        out.append("<p class=\"summary\">\(xmlEscape(summary(result)))</p>")
        out.append("<table class=\"latency\">")
        out.append("<tr><th>op</th><th>count</th><th>ops/s</th>"
                   + BenchReport.tablePercentiles.map { "<th>\(xmlEscape($0.label)) µs</th>" }.joined()
                   + "<th>max µs</th></tr>")
        for (op, h) in result.latencies.recorded {
            let rate = result.seconds > 0 ? Double(h.count) / result.seconds : 0
            out.append("<tr><td>\(op.name)</td><td>\(h.count)</td><td>\(BenchReport.fixed(rate, 0))</td>"
                       + BenchReport.tablePercentiles.map {
                           "<td>\(BenchReport.fixed(BenchReport.micros(h.nanos(atPercentile: $0.percentile)), 2))</td>"
                       }.joined()
                       + "<td>\(BenchReport.fixed(BenchReport.micros(h.maxNanos), 2))</td></tr>")
        }
        out.append("</table>")
        if result.reads > 0 {
            out.append("<p class=\"found\">found \(result.found) of \(result.reads) reads</p>")
        }
        out.append(throughputChart(result).render())
        out.append(latencyChart(result).render())
        out.append("<p class=\"config\">seed \(c.seed), cache \(c.cacheMB) MiB, memtable \(c.memtableMB) MiB"
                   + (c.directReads ? ", direct reads" : "") + "</p>")
        out.append("</body>")
        out.append("</html>")
        return out.joined(separator: "\n") + "\n"
    }

    /// Both charts stacked in one standalone SVG document.
    public static func svg(_ result: RunResult) -> String {
        let throughput = throughputChart(result)
        let latency = latencyChart(result)
        let width = max(throughput.widthPixels, latency.widthPixels)
        let height = 56 + throughput.heightPixels + latency.heightPixels
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">\n"
            + "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
            + "<text x=\"12\" y=\"24\" font-size=\"16\" font-weight=\"bold\">\(xmlEscape(title(result)))</text>\n"
            + "<text x=\"12\" y=\"44\" font-size=\"12\">\(xmlEscape(summary(result)))</text>\n"
            + throughput.render(x: 0, y: 56) + "\n"
            + latency.render(x: 0, y: 56 + throughput.heightPixels) + "\n"
            + "</svg>\n"
    }

    static func title(_ result: RunResult) -> String {
        "kvbench workload \(result.config.workload.rawValue) — \(utcDate(result.startedAtUnixSeconds))"
    }

    static func summary(_ result: RunResult) -> String {
        let c = result.config
        var s = "\(result.operations) ops in \(BenchReport.fixed(result.seconds, 2)) s = "
            + "\(BenchReport.fixed(result.opsPerSecond, 0)) ops/s; \(c.records) records, "
            + "\(c.threads) threads, value \(c.valueSizeBytes) B, sync \(c.sync ? "always" : "none")"
        if c.workload != .load { s += ", \(c.distribution.rawValue)" }
        return s
    }

    static func throughputChart(_ result: RunResult) -> SVGChart {
        // Steps: each sample is the mean rate over its interval.
        var points: [(x: Double, y: Double)] = []
        var intervalStart = 0.0
        for sample in result.throughput {
            points.append((x: intervalStart, y: sample.opsPerSecond))
            points.append((x: sample.elapsedSeconds, y: sample.opsPerSecond))
            intervalStart = sample.elapsedSeconds
        }
        let peak = points.map(\.y).max() ?? 0
        let end = max(result.seconds, points.last?.x ?? 0, 1)
        return SVGChart(id: "throughput", title: "Throughput (per-second samples)", xLabel: "seconds since start",
                        yLabel: "operations per second",
                        xScale: .linear(min: 0, max: end), yScale: .linear(min: 0, max: SVGChart.niceMax(peak)),
                        series: [SVGChart.Series(name: "all operations", color: colors[0], points: points)])
    }

    static func latencyChart(_ result: RunResult) -> SVGChart {
        var series: [SVGChart.Series] = []
        var lowMicros = Double.infinity
        var highMicros = 0.0
        for (op, h) in result.latencies.recorded {
            let points = h.cdf().map { (x: max(Double($0.nanos) / 1000, 0.001), y: $0.fraction) }
            guard let first = points.first, let last = points.last else { continue }
            lowMicros = min(lowMicros, first.x)
            highMicros = max(highMicros, last.x)
            // Start each curve at 0 so it rises from the axis.
            series.append(SVGChart.Series(name: op.name, color: colors[op.rawValue % colors.count],
                                          points: [(x: first.x, y: 0)] + points))
        }
        let low = lowMicros.isFinite ? pow(10, log10(lowMicros).rounded(.down)) : 1
        let high = highMicros > 0 ? pow(10, log10(highMicros).rounded(.up)) : 10
        var chart = SVGChart(id: "latency-cdf", title: "Latency CDF per operation type", xLabel: "latency (µs, log scale)",
                             yLabel: "fraction of operations ≤ latency",
                             xScale: .log10(min: low, max: max(high, low * 10)), yScale: .linear(min: 0, max: 1),
                             series: series)
        chart.yTickFormat = { "\(Int(($0 * 100).rounded())) %" }
        return chart
    }

    /// "2026-11-20 12:34:56 UTC".
    static func utcDate(_ unixSeconds: Int) -> String {
        var t = time_t(unixSeconds)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "\(unixSeconds)" }
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }
}
