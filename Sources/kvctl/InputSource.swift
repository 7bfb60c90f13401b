import Glibc
import RingIO

/// A file named on the command line, or stdin for "-", read sequentially.
final class InputSource {
    let name: String
    private let fd: Int32
    /// Keeps a named file open; nil for stdin.
    private let file: File?
    /// Total bytes when the input is a regular file (for progress and ETA).
    let sizeBytes: UInt64?

    init(path: String) throws {
        if path == "-" {
            name = "stdin"
            fd = 0
            file = nil
        } else {
            try RawArguments.checkPath(path, option: "FILE")
            name = path
            do {
                let opened = try File.open(path, .read)
                file = opened
                fd = opened.fd
            } catch {
                throw CLIError(.io(error))
            }
        }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
            sizeBytes = UInt64(st.st_size)
        } else {
            sizeBytes = nil
        }
    }

    /// Reads up to `into.count` bytes; 0 at the end of the input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw CLIError(.io(IOError(operation: "read", errno: errno, path: name)))
        }
    }

    /// The whole input.
    func readAll() throws -> [UInt8] {
        var out: [UInt8] = []
        if let sizeBytes { out.reserveCapacity(Int(sizeBytes)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}
