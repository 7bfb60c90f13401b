/// The rules for a keyspace name (docs/FORMAT.md §Keyspace records):
/// 1–255 bytes of valid UTF-8 without NUL. "default" names keyspace 0,
/// which always exists and cannot be dropped.
enum KeyspaceName {
    static let defaultName = "default"
    static let maxBytes = 255

    /// Why `bytes` is not a valid name, or nil when it is one.
    static func problem(_ bytes: some Collection<UInt8>) -> String? {
        if bytes.isEmpty { return "a keyspace name is 1 to \(maxBytes) bytes; this one is empty" }
        if bytes.count > maxBytes { return "a keyspace name is 1 to \(maxBytes) bytes; this one has \(bytes.count)" }
        if bytes.contains(0) { return "a keyspace name may not contain NUL" }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return nil
            case .error: return "a keyspace name must be valid UTF-8"
            }
        }
    }

    /// The name `bytes` spells, or `DBError.invalidKeyspaceName`.
    static func validated(_ bytes: [UInt8]) throws(DBError) -> String {
        if let reason = problem(bytes) { throw DBError.invalidKeyspaceName(name: render(bytes), reason: reason) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `name` checked (a String is valid UTF-8; length and NUL remain).
    static func validated(_ name: String) throws(DBError) -> String {
        if let reason = problem(name.utf8) { throw DBError.invalidKeyspaceName(name: render(Array(name.utf8)), reason: reason) }
        return name
    }

    /// The bytes as text, invalid or unprintable bytes as \xNN, at most
    /// 80 of them (for error messages).
    static func render(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) {
            return text.count > 80 ? String(text.prefix(80)) + "…(\(bytes.count) bytes)" : text
        }
        var out = ""
        for b in bytes.prefix(80) {
            if (0x20..<0x7f).contains(b) && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(UnicodeScalar(b))
            } else {
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return bytes.count > 80 ? out + "…(\(bytes.count) bytes)" : out
    }
}
