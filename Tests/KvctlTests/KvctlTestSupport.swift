import Glibc
import Testing
@_exported import TestSupport
import RingIO
@testable import RingKV

/// Options for databases the tests write through the library.
func libraryOptions() -> Options {
    var options = Options()
    options.createIfMissing = true
    options.walPreallocateBytes = 1 << 20
    return options
}

/// Every (key, value) of the database at `path`, in key order.
func contents(of path: String) throws -> [([UInt8], [UInt8])] {
    let db = try DB(path: path, options: libraryOptions())
    defer { try? db.close() }
    return try db.scan().map { ($0.key, $0.value) }
}

/// Files of `dir` whose names end with `suffix`, sorted.
func files(in dir: String, suffix: String) throws -> [String] {
    try FileSystem.listDirectory(dir).filter { $0.hasSuffix(suffix) }.sorted().map { dir + "/" + $0 }
}

/// XORs the byte at `offset` of `path` with 0xff.
func flipByte(_ path: String, at offset: UInt64) throws {
    let file = try File.open(path, .readWrite)
    defer { try? file.close() }
    var byte: UInt8 = 0
    #expect(pread(file.fd, &byte, 1, off_t(offset)) == 1)
    byte ^= 0xff
    #expect(pwrite(file.fd, &byte, 1, off_t(offset)) == 1)
}

/// Lines of text output (a final newline ends the last line; it does not start another).
func lines(_ s: String) -> [String] {
    var parts = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if parts.last == "" { parts.removeLast() }
    return parts
}
