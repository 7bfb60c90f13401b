import CRingSupport

/// CRC32C (Castagnoli) as used on every block and log record.
/// Stored checksums are *masked* (docs/FORMAT.md §Checksums) so a CRC of
/// data that itself embeds CRCs does not degenerate.
enum CRC32C {
    @inline(__always)
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        rk_crc32c_extend(seed, bytes.baseAddress, bytes.count)
    }

    @inline(__always)
    static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    @inline(__always)
    static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        rk_crc32c_extend(crc, bytes.baseAddress, bytes.count)
    }

    static let maskDelta: UInt32 = 0xa282_ead8

    /// Rotate right by 15 bits and add a constant (docs/FORMAT.md §Checksums).
    @inline(__always)
    static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ maskDelta
    }

    @inline(__always)
    static func unmask(_ masked: UInt32) -> UInt32 {
        let rot = masked &- maskDelta
        return (rot >> 17) | (rot << 15)
    }
}
