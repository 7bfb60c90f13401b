import CLZ4

/// LZ4 block compression (the raw block format, no frame header); the
/// uncompressed length is stored by the caller (docs/FORMAT.md §Stored block).
enum LZ4 {
    /// Worst-case compressed size for `count` input bytes.
    static func maxCompressedLength(_ count: Int) -> Int {
        Int(LZ4_compressBound(Int32(count)))
    }

    /// Compresses `input` into `output`; returns the compressed length, or
    /// nil when it does not fit in `output`.
    static func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard input.count > 0, let src = input.baseAddress, let dst = output.baseAddress else { return nil }
        let n = LZ4_compress_default(src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                                     Int32(input.count), Int32(output.count))
        return n > 0 ? Int(n) : nil
    }

    /// Decompresses exactly `output.count` bytes from `input`; nil when the
    /// input is malformed or does not decode to exactly that size.
    static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let src = input.baseAddress, let dst = output.baseAddress else {
            return output.count == 0 ? 0 : nil
        }
        let n = LZ4_decompress_safe(src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                                    Int32(input.count), Int32(output.count))
        return n == Int32(output.count) ? Int(n) : nil
    }
}
