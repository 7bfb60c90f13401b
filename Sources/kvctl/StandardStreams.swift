import Glibc

/// Buffered writes of bytes to stdout (fd 1). Lines are built as bytes,
/// never as Strings, so nothing is re-encoded on the way out.
final class StandardOutput {
    private var buffer: [UInt8] = []
    private let flushThresholdBytes = 64 << 10

    init() { buffer.reserveCapacity(flushThresholdBytes + 4096) }

    deinit { try? flush() }

    func write<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThresholdBytes { try flush() }
    }

    func write(_ text: String) throws { try write(text.utf8) }

    func line(_ text: String) throws {
        try write(text.utf8)
        try write(CollectionOfOne(UInt8(ascii: "\n")))
    }

    func flush() throws {
        defer { buffer.removeAll(keepingCapacity: true) }
        try StandardStreams.writeAll(fd: 1, buffer, name: "stdout")
    }
}

enum StandardStreams {
    /// Writes every byte to `fd`, retrying EINTR and short writes.
    static func writeAll(fd: Int32, _ bytes: [UInt8], name: String) throws {
        var done = 0
        while done < bytes.count {
            // Assumes: done < bytes.count, so the buffer is non-empty and has a base address.
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError.failure("writing to \(name) failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// One line on stderr (unbuffered).
    static func error(_ text: String) {
        try? writeAll(fd: 2, Array((text + "\n").utf8), name: "stderr")
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
