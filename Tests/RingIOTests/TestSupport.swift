#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import RingIO

/// A fresh directory under /tmp (ext4 here, so O_DIRECT works), removed
/// after `body` returns or throws.
func withTemporaryDirectory<R>(_ prefix: String = "ringio-test", _ body: (String) throws -> R) throws -> R {
    let dir = try FileSystem.makeTemporaryDirectory(prefix: prefix)
    defer { try? FileSystem.removeTree(dir) }
    return try body(dir)
}

/// The byte at `offset` of the deterministic test pattern: differs for
/// neighbouring offsets and across 4 KiB blocks, so a read from the wrong
/// place never matches.
@inline(__always)
func patternByte(at offset: UInt64, seed: UInt64 = 0x5EED) -> UInt8 {
    let x = (offset &+ seed) &* 0x9E37_79B9_7F4A_7C15
    return UInt8(truncatingIfNeeded: (x >> 56) ^ (offset >> 12))
}

/// Fills `buffer` with the pattern bytes for file range [offset, offset+count).
func fillPattern(_ buffer: UnsafeMutableRawBufferPointer, fileOffset: UInt64, seed: UInt64 = 0x5EED) {
    for i in 0..<buffer.count { buffer[i] = patternByte(at: fileOffset + UInt64(i), seed: seed) }
}

/// Index of the first byte of `buffer` that differs from the pattern, or nil.
func firstPatternMismatch(_ buffer: UnsafeRawBufferPointer, fileOffset: UInt64, seed: UInt64 = 0x5EED) -> Int? {
    for i in 0..<buffer.count where buffer[i] != patternByte(at: fileOffset + UInt64(i), seed: seed) { return i }
    return nil
}

/// Writes a pattern file of `sizeBytes` with plain pwrite (independent of
/// the code under test) and fsyncs it.
func writePatternFile(_ path: String, sizeBytes: Int, seed: UInt64 = 0x5EED) throws {
    let file = try File.open(path, [.readWrite, .create, .truncate])
    defer { try? file.close() }
    let chunkBytes = 1 << 20
    let chunk = AlignedBuffer(capacity: chunkBytes)
    var offset = 0
    while offset < sizeBytes {
        let n = min(chunkBytes, sizeBytes - offset)
        let slice = UnsafeMutableRawBufferPointer(rebasing: chunk.bytes[0..<n])
        fillPattern(slice, fileOffset: UInt64(offset), seed: seed)
        try PosixBackend().write(fd: file.fd, from: UnsafeRawBufferPointer(slice), offset: UInt64(offset))
        offset += n
    }
    try PosixBackend().sync(fd: file.fd, dataOnly: false)
}


/// The seed for a randomized test: $RINGIO_TEST_SEED when set, else a fresh
/// one. Tests put it in every failure comment so a failure can be replayed.
func testSeed() -> UInt64 {
    if let raw = getenv("RINGIO_TEST_SEED"), let seed = UInt64(String(cString: raw)) { return seed }
    return UInt64.random(in: 0...UInt64.max)
}

/// The filesystem type mounted at `mountPoint` per /proc/mounts ("tmpfs",
/// "ext4", ...), or nil when it is not a mount point.
func filesystemType(ofMountPoint mountPoint: String) -> String? {
    guard let file = fopen("/proc/mounts", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 4096)
    var found: String?
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        if fields.count >= 3 && fields[1] == mountPoint { found = String(fields[2]) }
    }
    return found
}
