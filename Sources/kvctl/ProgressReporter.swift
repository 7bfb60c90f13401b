import Glibc

/// Load progress on stderr. On a terminal: a bar redrawn at most 10 times a
/// second (percentage and ETA when the input size is known). Elsewhere:
/// nothing until `finish`, which prints one summary line either way.
final class ProgressReporter {
    private let totalBytes: UInt64?
    private let isTerminal: Bool
    private let started = ContinuousClock.now
    private var lastDraw = ContinuousClock.now
    private var drewBar = false

    static let redrawInterval = Duration.milliseconds(100)
    static let barWidth = 24

    init(totalBytes: UInt64?, isTerminal: Bool = StandardStreams.stderrIsTerminal) {
        self.totalBytes = totalBytes
        self.isTerminal = isTerminal
    }

    var elapsedSeconds: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Redraws the bar when it is due.
    func update(bytes: UInt64, records: UInt64) {
        guard isTerminal else { return }
        let now = ContinuousClock.now
        guard now - lastDraw >= ProgressReporter.redrawInterval else { return }
        lastDraw = now
        draw(bytes: bytes, records: records)
    }

    private func draw(bytes: UInt64, records: UInt64) {
        let seconds = max(elapsedSeconds, 1e-3)
        let bytesPerSecond = Double(bytes) / seconds
        var line = "\r"
        if let totalBytes, totalBytes > 0 {
            let fraction = min(Double(bytes) / Double(totalBytes), 1)
            let filled = Int(fraction * Double(ProgressReporter.barWidth))
            line += "[" + String(repeating: "#", count: filled)
                + String(repeating: "-", count: ProgressReporter.barWidth - filled) + "] "
            line += Format.fixed(fraction * 100, 1) + "%  "
        }
        line += Format.bytes(bytes) + "  " + Format.bytes(UInt64(bytesPerSecond)) + "/s  "
        line += Format.count(Double(records) / seconds) + " records/s"
        if let totalBytes, bytesPerSecond > 0, totalBytes >= bytes {
            line += "  ETA " + Format.duration(Double(totalBytes - bytes) / bytesPerSecond)
        }
        line += "\u{1B}[K"
        try? StandardStreams.writeAll(fd: 2, Array(line.utf8), name: "stderr")
        drewBar = true
    }

    /// Draws the final bar (terminal) and prints the summary line.
    func finish(bytes: UInt64, records: UInt64, lines: Int, stopped: Bool) {
        if isTerminal {
            draw(bytes: bytes, records: records)
            try? StandardStreams.writeAll(fd: 2, Array("\n".utf8), name: "stderr")
        }
        let seconds = elapsedSeconds
        let rate = seconds > 0 ? "\(Format.count(Double(records) / seconds)) records/s, "
            + "\(Format.bytes(UInt64(Double(bytes) / seconds)))/s" : "-"
        let verb = stopped ? "wrote" : "loaded"
        StandardStreams.error("kvctl: \(verb) \(Format.count(Int(records), "record")) from "
                              + "\(Format.count(lines, "line")) (\(Format.bytes(bytes))) "
                              + "in \(Format.fixed(seconds, 2)) s: \(rate)")
    }
}

/// Number formatting for humans (no Foundation).
enum Format {
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        var s = (value < 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let f = String(fraction)
            s += "." + String(repeating: "0", count: max(0, digits - f.count)) + f
        }
        return s
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : fixed(value, 1) + " " + units[unit]
    }

    static func count(_ value: Double) -> String {
        if value >= 1e6 { return fixed(value / 1e6, 2) + "M" }
        if value >= 1e3 { return fixed(value / 1e3, 1) + "k" }
        return fixed(value, 0)
    }

    /// "1 entry", "2 entries".
    static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    /// `count` of a UInt64 read from disk (any value, no conversion to Int).
    static func count(_ n: UInt64, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let total = Int(seconds.rounded())
        let h = total / 3600, m = (total / 60) % 60, s = total % 60
        let mm = m < 10 ? "0\(m)" : "\(m)", ss = s < 10 ? "0\(s)" : "\(s)"
        return h > 0 ? "\(h):\(mm):\(ss)" : "\(m):\(ss)"
    }
}
