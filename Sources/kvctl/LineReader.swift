/// Splits an `InputSource` into lines ('\n'-terminated; the last line may
/// lack it; one trailing '\r' is dropped so CRLF files load). Reads 1 MiB
/// at a time; a line may be of any length.
struct LineReader {
    private let input: InputSource
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// Bytes read from the input so far.
    private var bytesRead: UInt64 = 0
    /// Bytes of the lines returned so far, terminators included.
    var bytesConsumed: UInt64 { bytesRead - UInt64(end - start) }
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0

    static let chunkBytes = 1 << 20

    init(_ input: InputSource) {
        self.input = input
        buffer = [UInt8](repeating: 0, count: LineReader.chunkBytes)
    }

    /// Puts the next line into `line` (without its terminator); false at
    /// the end of the input.
    mutating func next(into line: inout [UInt8]) throws -> Bool {
        line.removeAll(keepingCapacity: true)
        while true {
            if let newline = ByteText.firstIndex(of: UInt8(ascii: "\n"), in: buffer, from: start, to: end) {
                line.append(contentsOf: buffer[start..<newline])
                start = newline + 1
                return finish(&line)
            }
            line.append(contentsOf: buffer[start..<end])
            start = 0
            end = 0
            if atEOF { return line.isEmpty ? false : finish(&line) }
            let n = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
            if n == 0 { atEOF = true }
            end = n
            bytesRead += UInt64(n)
        }
    }

    private mutating func finish(_ line: inout [UInt8]) -> Bool {
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        lineNumber += 1
        return true
    }
}
