/// Per-mode summary over the repeats: minimum wall time, and the run with
/// the median wall time (the lower middle for an even count), whose numbers
/// fill the other columns.
struct ModeSummary {
    let mode: BenchMode
    let runs: [RunSample]
    let reads: Int
    let blockSizeBytes: Int

    var minimum: RunSample { runs.min { $0.measurement.wallNanos < $1.measurement.wallNanos }! }
    var median: RunSample {
        runs.sorted { $0.measurement.wallNanos < $1.measurement.wallNanos }[(runs.count - 1) / 2]
    }
}

/// Derived rates for one run.
struct RunRates {
    let iops: Double
    let megabytesPerSecond: Double
    let cpuMicrosPerRead: Double

    init(_ sample: RunSample, reads: Int, blockSizeBytes: Int) {
        let seconds = sample.measurement.wallSeconds
        iops = seconds > 0 ? Double(reads) / seconds : 0
        megabytesPerSecond = seconds > 0 ? Double(reads * blockSizeBytes) / seconds / 1e6 : 0
        cpuMicrosPerRead = reads > 0 ? Double(sample.measurement.cpuMicros) / Double(reads) : 0
    }
}

enum Report {
    static let columns = ["mode", "reads", "wall min ms", "wall med ms", "IOPS", "MB/s",
                          "CPU %", "CPU us/read", "syscalls", "counted"]

    /// The aligned table: text columns left-aligned, numbers right-aligned.
    static func table(_ summaries: [ModeSummary]) -> String {
        var rows: [[String]] = [columns]
        for s in summaries {
            let med = s.median
            let rates = RunRates(med, reads: s.reads, blockSizeBytes: s.blockSizeBytes)
            rows.append([
                s.mode.rawValue,
                String(s.reads),
                fixed(Double(s.minimum.measurement.wallNanos) / 1e6, 2),
                fixed(Double(med.measurement.wallNanos) / 1e6, 2),
                fixed(rates.iops, 0),
                fixed(rates.megabytesPerSecond, 1),
                fixed(med.measurement.cpuPercent, 1),
                fixed(rates.cpuMicrosPerRead, 2),
                String(med.calls),
                s.mode.countedCalls,
            ])
        }
        let widths = columns.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        let leftAligned: Set<Int> = [0, columns.count - 1]
        return rows.map { row in
            row.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - row[c].count)
                return leftAligned.contains(c) ? row[c] + pad : pad + row[c]
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }

    /// One JSON object (one line) describing one run.
    static func json(_ sample: RunSample, config: [(String, String)], reads: Int, blockSizeBytes: Int) -> String {
        let m = sample.measurement
        let rates = RunRates(sample, reads: reads, blockSizeBytes: blockSizeBytes)
        var fields: [(String, String)] = [
            ("mode", quoted(sample.mode.rawValue)),
            ("run", String(sample.run)),
        ]
        fields += config
        fields += [
            ("wall_seconds", number(m.wallSeconds)),
            ("iops", number(rates.iops)),
            ("mb_per_sec", number(rates.megabytesPerSecond)),
            ("cpu_user_us", String(m.userMicros)),
            ("cpu_sys_us", String(m.systemMicros)),
            ("cpu_percent", number(m.cpuPercent)),
            ("cpu_us_per_read", number(rates.cpuMicrosPerRead)),
            ("syscalls", String(sample.calls)),
            ("syscalls_counted", quoted(sample.mode.countedCalls)),
            ("verified", "true"),
        ]
        return "{" + fields.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A finite JSON number with at most 6 decimals.
    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        return fixed(x, 6)
    }

    /// `x` rounded to `decimals` places, without Foundation's String(format:).
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e18 else { return String(x) }
        let units = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = (x < 0 && units != 0 ? "-" : "") + String(units / divisor)
        if decimals > 0 {
            let frac = String(units % divisor)
            text += "." + String(repeating: "0", count: decimals - frac.count) + frac
        }
        return text
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
