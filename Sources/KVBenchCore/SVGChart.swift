import Glibc

/// A line chart drawn as one standalone `<svg>` element (no scripts, no
/// external fonts): axes with ticks, one polyline per series, a legend.
/// The output is well-formed XML, so it can sit inside an XHTML page or be
/// written to a .svg file as it is.
struct SVGChart {
    enum Scale {
        case linear(min: Double, max: Double)
        /// log10; bounds are powers of ten.
        case log10(min: Double, max: Double)
    }

    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    var id: String
    var title: String
    var xLabel: String
    var yLabel: String
    var xScale: Scale
    var yScale: Scale
    var yTickFormat: (Double) -> String = { SVGChart.shortNumber($0) }
    var series: [Series]
    var widthPixels = 900.0
    var heightPixels = 360.0

    private let marginLeft = 80.0
    private let marginRight = 24.0
    private let marginTop = 36.0
    private let marginBottom = 52.0

    /// The chart, placed at (x, y) when embedded in a larger SVG.
    func render(x: Double? = nil, y: Double? = nil) -> String {
        let plotWidth = widthPixels - marginLeft - marginRight
        let plotHeight = heightPixels - marginTop - marginBottom
        func px(_ v: Double) -> Double { marginLeft + SVGChart.unit(v, xScale) * plotWidth }
        func py(_ v: Double) -> Double { marginTop + (1 - SVGChart.unit(v, yScale)) * plotHeight }

        var out: [String] = []
        var open = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(xmlEscape(id))\" class=\"chart\""
        if let x, let y { open += " x=\"\(f(x))\" y=\"\(f(y))\"" }
        open += " width=\"\(f(widthPixels))\" height=\"\(f(heightPixels))\""
            + " viewBox=\"0 0 \(f(widthPixels)) \(f(heightPixels))\" font-family=\"sans-serif\" font-size=\"12\">"
        out.append(open)
        out.append("<title>\(xmlEscape(title))</title>")
        out.append("<rect x=\"0\" y=\"0\" width=\"\(f(widthPixels))\" height=\"\(f(heightPixels))\" fill=\"#ffffff\"/>")
        out.append("<text x=\"\(f(widthPixels / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
                   + "font-weight=\"bold\">\(xmlEscape(title))</text>")

        // Grid and ticks.
        out.append("<g class=\"axes\" stroke=\"#dddddd\" stroke-width=\"1\">")
        for t in SVGChart.ticks(xScale) {
            out.append("<line x1=\"\(f(px(t)))\" y1=\"\(f(marginTop))\" x2=\"\(f(px(t)))\" "
                       + "y2=\"\(f(marginTop + plotHeight))\"/>")
        }
        for t in SVGChart.ticks(yScale) {
            out.append("<line x1=\"\(f(marginLeft))\" y1=\"\(f(py(t)))\" x2=\"\(f(marginLeft + plotWidth))\" "
                       + "y2=\"\(f(py(t)))\"/>")
        }
        out.append("</g>")
        out.append("<rect x=\"\(f(marginLeft))\" y=\"\(f(marginTop))\" width=\"\(f(plotWidth))\" "
                   + "height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#444444\"/>")
        out.append("<g class=\"tick-labels\" fill=\"#333333\">")
        for t in SVGChart.ticks(xScale) {
            out.append("<text x=\"\(f(px(t)))\" y=\"\(f(marginTop + plotHeight + 16))\" "
                       + "text-anchor=\"middle\">\(xmlEscape(SVGChart.shortNumber(t)))</text>")
        }
        for t in SVGChart.ticks(yScale) {
            out.append("<text x=\"\(f(marginLeft - 6))\" y=\"\(f(py(t) + 4))\" "
                       + "text-anchor=\"end\">\(xmlEscape(yTickFormat(t)))</text>")
        }
        out.append("</g>")
        out.append("<text x=\"\(f(marginLeft + plotWidth / 2))\" y=\"\(f(heightPixels - 10))\" "
                   + "text-anchor=\"middle\">\(xmlEscape(xLabel))</text>")
        let yMid = marginTop + plotHeight / 2
        out.append("<text x=\"16\" y=\"\(f(yMid))\" text-anchor=\"middle\" "
                   + "transform=\"rotate(-90 16 \(f(yMid)))\">\(xmlEscape(yLabel))</text>")

        // Series, clipped to the plot area by clamping.
        for s in series where !s.points.isEmpty {
            let coords = s.points.map { p in
                "\(f(min(max(px(p.x), marginLeft), marginLeft + plotWidth))),"
                    + "\(f(min(max(py(p.y), marginTop), marginTop + plotHeight)))"
            }
            out.append("<polyline class=\"series\" data-series=\"\(xmlEscape(s.name))\" fill=\"none\" "
                       + "stroke=\"\(s.color)\" stroke-width=\"2\" points=\"\(coords.joined(separator: " "))\"/>")
        }

        // Legend, top left inside the plot (empty for rising curves).
        if series.count > 1 {
            out.append("<g class=\"legend\">")
            for (i, s) in series.enumerated() {
                let ly = marginTop + 16 + Double(i) * 18
                out.append("<rect x=\"\(f(marginLeft + 12))\" y=\"\(f(ly - 9))\" width=\"14\" height=\"10\" "
                           + "fill=\"\(s.color)\"/>")
                out.append("<text x=\"\(f(marginLeft + 32))\" y=\"\(f(ly))\">\(xmlEscape(s.name))</text>")
            }
            out.append("</g>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    // MARK: - Scales

    /// Position of `v` along the scale, 0...1.
    static func unit(_ v: Double, _ scale: Scale) -> Double {
        switch scale {
        case .linear(let lo, let hi):
            return hi > lo ? (v - lo) / (hi - lo) : 0
        case .log10(let lo, let hi):
            let a = Glibc.log10(lo), b = Glibc.log10(hi)
            return b > a ? (Glibc.log10(max(v, lo)) - a) / (b - a) : 0
        }
    }

    static func ticks(_ scale: Scale) -> [Double] {
        switch scale {
        case .linear(let lo, let hi):
            let step = niceStep((hi - lo) / 5)
            guard step > 0 else { return [lo] }
            var t = (lo / step).rounded(.up) * step
            var out: [Double] = []
            while t <= hi + step * 1e-9 {
                out.append(t)
                t += step
            }
            return out
        case .log10(let lo, let hi):
            var out: [Double] = []
            var t = lo
            while t <= hi * 1.000001 {
                out.append(t)
                t *= 10
            }
            return out
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 0 }
        let magnitude = pow(10, (Glibc.log10(raw)).rounded(.down))
        for m in [1.0, 2.0, 5.0, 10.0] where m * magnitude >= raw { return m * magnitude }
        return 10 * magnitude
    }

    /// A "nice" linear upper bound for data peaking at `peak`.
    static func niceMax(_ peak: Double) -> Double {
        guard peak > 0, peak.isFinite else { return 1 }
        let step = niceStep(peak / 5)
        return (peak / step).rounded(.up) * step
    }

    /// Tick label: 1500 -> "1.5k", 2000000 -> "2M", 0.5 -> "0.5".
    static func shortNumber(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return trimmed(v / 1e6) + "M" }
        if a >= 1e3 { return trimmed(v / 1e3) + "k" }
        return trimmed(v)
    }

    static func trimmed(_ v: Double) -> String {
        var s = BenchReport.fixed(v, 2)
        while s.contains(".") && (s.hasSuffix("0") || s.hasSuffix(".")) { s.removeLast() }
        return s
    }

    private func f(_ v: Double) -> String { BenchReport.fixed(v, 1) }
}

/// Text and attribute values for XML/XHTML.
func xmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for ch in s {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(ch)
        }
    }
    return out
}
