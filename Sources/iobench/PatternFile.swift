#if canImport(Glibc)
import Glibc
#endif
import RingIO

/// The test file: a 4096-byte header block, then a pattern in which every
/// 8-byte little-endian word at file offset `o` holds `o ^ patternSeed`, so
/// any block read from anywhere can be checked without keeping a copy.
///
/// Header (all integers little-endian u64):
///   [0, 8)    magic "IOBENCH1"
///   [8, 16)   version = 1
///   [16, 24)  file size in bytes (header included)
///   [24, 32)  pattern seed
///   [32, 40)  offset of the first pattern word = 4096
///   [40, 4096) zero
/// The header is written last (after the data is fsynced), so a file whose
/// creation was interrupted is never reused.
enum PatternFile {
    static let headerBytes = 4096
    static let version: UInt64 = 1
    static let patternSeed: UInt64 = 0x9E37_79B9_7F4A_7C15
    /// "IOBENCH1" read as a little-endian u64.
    static let magic: UInt64 = 0x3148_434E_4542_4F49

    @inline(__always)
    static func word(atOffset offset: UInt64) -> UInt64 { offset ^ patternSeed }

    /// Byte index of the first 8-byte word of `buffer` (holding file range
    /// [fileOffset, fileOffset+length)) that is not the pattern, or nil.
    static func firstMismatch(in buffer: UnsafeRawPointer, length: Int, fileOffset: UInt64) -> Int? {
        // Assumes buffer and fileOffset are 8-byte aligned (block reads into
        // 4096-aligned slots), so aligned loads are valid.
        var i = 0
        while i < length {
            let stored = UInt64(littleEndian: buffer.load(fromByteOffset: i, as: UInt64.self))
            if stored != word(atOffset: fileOffset + UInt64(i)) { return i }
            i += 8
        }
        return nil
    }

    /// Reuses `path` when its size and header match, else (re)creates it.
    /// Returns true when an existing file was reused.
    static func prepare(path: String, sizeBytes: UInt64, log: (String) -> Void) throws(BenchError) -> Bool {
        if matches(path: path, sizeBytes: sizeBytes) { return true }
        log("iobench: writing \(sizeBytes >> 20) MiB pattern file \(path) (reused by later runs)")
        do {
            try create(path: path, sizeBytes: sizeBytes)
        } catch {
            throw BenchError.io("creating \(path): \(error)")
        }
        return false
    }

    static func matches(path: String, sizeBytes: UInt64) -> Bool {
        guard let file = try? File.open(path, .read) else { return false }
        defer { try? file.close() }
        guard (try? file.size()) == sizeBytes else { return false }
        // Through io_uring like everything else, so `--mode uring` runs
        // show no pread64 of ours under strace (pread where io_uring is
        // refused).
        let header = AlignedBuffer(capacity: 40)
        let backend: any IOBackend = (try? URingBackend(ringEntries: 2)) ?? PosixBackend()
        guard (try? backend.read(fd: file.fd, into: UnsafeMutableRawBufferPointer(start: header.pointer, count: 40),
                                 offset: 0)) == 40
        else { return false }
        let fields = (0..<5).map { UInt64(littleEndian: header.pointer.load(fromByteOffset: $0 * 8, as: UInt64.self)) }
        return fields == [magic, version, sizeBytes, patternSeed, UInt64(headerBytes)]
    }

    private static func create(path: String, sizeBytes: UInt64) throws(IOError) {
        let backend: any IOBackend = (try? URingBackend(ringEntries: 16)) ?? PosixBackend()
        let file = try File.open(path, [.readWrite, .create, .truncate], direct: .preferred)
        defer { try? file.close() }
        try backend.preallocate(fd: file.fd, offset: 0, length: sizeBytes)

        // 8 chunks of 1 MiB in flight per batch.
        let chunkBytes = 1 << 20
        let chunksPerBatch = 8
        let staging = AlignedBuffer(capacity: chunkBytes * chunksPerBatch)
        var offset = UInt64(headerBytes)
        while offset < sizeBytes {
            var requests: [WriteRequest] = []
            var slot = 0
            while slot < chunksPerBatch && offset < sizeBytes {
                let length = Int(min(UInt64(chunkBytes), sizeBytes - offset))
                let base = staging.pointer + slot * chunkBytes
                fill(base, length: length, fileOffset: offset)
                requests.append(WriteRequest(fd: file.fd, offset: offset,
                                             buffer: UnsafeRawBufferPointer(start: base, count: length)))
                offset += UInt64(length)
                slot += 1
            }
            try backend.writeBatch(requests)
        }
        try backend.sync(fd: file.fd, dataOnly: false)

        let header = AlignedBuffer(capacity: headerBytes)
        for (i, value) in [magic, version, sizeBytes, patternSeed, UInt64(headerBytes)].enumerated() {
            header.pointer.storeBytes(of: value.littleEndian, toByteOffset: i * 8, as: UInt64.self)
        }
        try backend.write(fd: file.fd, from: UnsafeRawBufferPointer(start: header.pointer, count: headerBytes), offset: 0)
        try backend.sync(fd: file.fd, dataOnly: false)
    }

    /// Writes the pattern for file range [fileOffset, fileOffset+length)
    /// into `base` (8-byte aligned; length a multiple of 8).
    private static func fill(_ base: UnsafeMutableRawPointer, length: Int, fileOffset: UInt64) {
        var i = 0
        while i < length {
            base.storeBytes(of: word(atOffset: fileOffset + UInt64(i)).littleEndian, toByteOffset: i, as: UInt64.self)
            i += 8
        }
    }
}
