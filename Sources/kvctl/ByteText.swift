import Glibc

/// How kvctl writes bytes as text and reads them back.
///
/// Escaped form (the default): printable ASCII 0x20...0x7e stands for
/// itself except the backslash; `\\` is a backslash, `\t` a tab, `\n` a
/// newline, and every other byte (controls, 0x7f, every byte >= 0x80) is
/// `\xNN` with two hex digits. Input accepts exactly these escapes (hex
/// digits in either case) plus any raw byte other than the backslash, so
/// rendered text always parses back to the same bytes.
///
/// Hex form (`--hex`): two lowercase hex digits per byte, no separators;
/// input accepts either case. The empty string is the empty byte string.
struct ByteText {
    let hex: Bool

    struct ParseError: Error {
        var reason: String
        /// 1-based byte position in the text where the problem starts.
        var position: Int
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    static let backslash = UInt8(ascii: "\\")

    // MARK: - Rendering

    func append<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        if hex {
            for b in bytes {
                out.append(ByteText.hexDigits[Int(b >> 4)])
                out.append(ByteText.hexDigits[Int(b & 0xf)])
            }
            return
        }
        for b in bytes {
            switch b {
            case ByteText.backslash: out.append(ByteText.backslash); out.append(b)
            case UInt8(ascii: "\t"): out.append(ByteText.backslash); out.append(UInt8(ascii: "t"))
            case UInt8(ascii: "\n"): out.append(ByteText.backslash); out.append(UInt8(ascii: "n"))
            case 0x20...0x7e: out.append(b)
            default:
                out.append(ByteText.backslash)
                out.append(UInt8(ascii: "x"))
                out.append(ByteText.hexDigits[Int(b >> 4)])
                out.append(ByteText.hexDigits[Int(b & 0xf)])
            }
        }
    }

    func render<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Parsing

    func parse<C: Collection>(_ text: C) throws(ParseError) -> [UInt8] where C.Element == UInt8 {
        hex ? try ByteText.parseHex(Array(text)) : try ByteText.parseEscaped(Array(text))
    }

    func parse(_ text: String) throws(ParseError) -> [UInt8] { try parse(Array(text.utf8)) }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func parseHex(_ text: [UInt8]) throws(ParseError) -> [UInt8] {
        guard text.count % 2 == 0 else {
            throw ParseError(reason: "odd number of hex digits (\(text.count))", position: text.count)
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = 0
        while i < text.count {
            guard let high = hexValue(text[i]) else { throw ParseError(reason: "not a hex digit: \(describe(text[i]))", position: i + 1) }
            guard let low = hexValue(text[i + 1]) else {
                throw ParseError(reason: "not a hex digit: \(describe(text[i + 1]))", position: i + 2)
            }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    static func parseEscaped(_ text: [UInt8]) throws(ParseError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            // Copy the run up to the next backslash in one go (values of
            // many MiB are common in load input).
            let next = nextBackslash(in: text, from: i)
            if next > i { out.append(contentsOf: text[i..<next]) }
            i = next
            guard i < text.count else { break }
            guard i + 1 < text.count else {
                throw ParseError(reason: "lone backslash at the end (write \\\\ for a backslash)", position: i + 1)
            }
            switch text[i + 1] {
            case backslash: out.append(backslash); i += 2
            case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t")); i += 2
            case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n")); i += 2
            case UInt8(ascii: "x"):
                guard i + 3 < text.count, let high = hexValue(text[i + 2]), let low = hexValue(text[i + 3]) else {
                    throw ParseError(reason: "\\x must be followed by two hex digits", position: i + 1)
                }
                out.append(high << 4 | low)
                i += 4
            default:
                throw ParseError(reason: "invalid escape \\\(describe(text[i + 1])) (valid: \\\\ \\t \\n \\xNN)",
                                 position: i + 1)
            }
        }
        return out
    }

    /// Index of the first backslash at or after `start`, or `text.count`.
    private static func nextBackslash(in text: [UInt8], from start: Int) -> Int {
        firstIndex(of: backslash, in: text, from: start) ?? text.count
    }

    /// Index of the first `byte` in text[start..<end] (memchr: fast even in
    /// debug builds, where a generic search runs byte by byte).
    static func firstIndex(of byte: UInt8, in text: [UInt8], from start: Int, to end: Int? = nil) -> Int? {
        text.withUnsafeBytes { raw in
            let end = min(end ?? raw.count, raw.count)
            // Assumes: memchr reads only [start, end), inside the buffer.
            guard start < end, let base = raw.baseAddress,
                  let hit = memchr(base + start, Int32(byte), end - start) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    /// A byte for an error message: itself when printable, else \xNN.
    static func describe(_ b: UInt8) -> String {
        ByteText(hex: false).render([b])
    }
}
