import Glibc

/// The command line as raw bytes.
///
/// Arguments arrive as C strings; Swift's `CommandLine.arguments` repairs
/// invalid UTF-8 with U+FFFD, which would silently change a binary key.
/// So each argument is read from `CommandLine.unsafeArgv`: valid UTF-8 is
/// kept as is, anything else is handed to the parser in kvctl's escaped
/// form (`ByteText`), which a KEY or VALUE argument parses back to exactly
/// the original bytes. Such an argument cannot be a path (paths are
/// Strings, which must be UTF-8): commands reject it with a usage error.
enum RawArguments {
    /// The arguments after the program name, ready for ArgumentParser.
    static let arguments: [String] = decoded.map(\.text)

    /// The escaped forms of arguments that were not valid UTF-8.
    static let escapedNonUTF8: Set<String> = Set(decoded.filter(\.wasEscaped).map(\.text))

    private static let decoded = read()

    private static func read() -> [(text: String, wasEscaped: Bool)] {
        var out: [(text: String, wasEscaped: Bool)] = []
        let argv = CommandLine.unsafeArgv
        for i in 1..<Int(CommandLine.argc) {
            guard let pointer = argv[i] else { continue }
            if let text = String(validatingCString: pointer) {
                out.append((text, false))
            } else {
                // Assumes: argv[i] is NUL-terminated (the kernel guarantees it).
                let length = strlen(pointer)
                let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
                out.append((ByteText(hex: false).render(bytes), true))
            }
        }
        return out
    }

    /// Throws a usage error when `path` came from an argument that was not
    /// valid UTF-8.
    static func checkPath(_ path: String, option: String) throws {
        if escapedNonUTF8.contains(path) {
            throw CLIError.usage("\(option) \(path): paths must be valid UTF-8 (the argument holds other bytes)")
        }
    }
}
