/// How a block's payload is stored (the first trailer byte).
package enum BlockCompression: UInt8, Sendable {
    case uncompressed = 0
    case lz4 = 1
}

/// The on-disk form of a block (docs/FORMAT.md §SSTable "Stored block"):
///
///     payload     handle.size bytes: the contents as-is (type 0), or
///                 varint(uncompressed length) ++ LZ4 raw block (type 1)
///     type        u8   BlockCompression
///     crc         fixed32  masked CRC32C over payload ++ type
///
/// A reader checks the CRC before it looks at the payload, then decompresses.
package enum BlockCodec {
    package static let trailerSizeBytes = 5

    /// LZ4 is kept only when the payload is at most 7/8 of the raw size
    /// (saves >= 12.5 %); otherwise the raw contents are stored.
    static func isWorthCompressing(rawBytes: Int, compressedBytes: Int) -> Bool {
        compressedBytes <= rawBytes - rawBytes / 8
    }

    /// The payload for `contents`: LZ4 into `scratch` when `compression` is
    /// .lz4 and it saves enough, else `contents` itself. `body` receives
    /// the payload and its type.
    package static func encode<R, E: Error>(_ contents: UnsafeRawBufferPointer, compression: BlockCompression, scratch: inout [UInt8],
                          _ body: (UnsafeRawBufferPointer, BlockCompression) throws(E) -> R) throws(E) -> R {
        if compression == .lz4, contents.count > 0 {
            var header = ByteWriter(capacity: 10)
            header.appendVarint(contents.count)
            let headerBytes = header.count
            let needed = headerBytes + LZ4.maxCompressedLength(contents.count)
            if scratch.count < needed { scratch = [UInt8](repeating: 0, count: needed) }
            let payloadBytes = scratch.withUnsafeMutableBytes { out -> Int? in
                // Assumes: `out` holds headerBytes + maxCompressedLength bytes (sized above).
                for i in 0..<headerBytes { out[i] = header.bytes[i] }
                let rest = UnsafeMutableRawBufferPointer(rebasing: out[headerBytes..<needed])
                return LZ4.compress(contents, into: rest).map { headerBytes + $0 }
            }
            if let payloadBytes, isWorthCompressing(rawBytes: contents.count, compressedBytes: payloadBytes) {
                return try scratch.withBytes { (raw) throws(E) in
                    try body(UnsafeRawBufferPointer(rebasing: raw[0..<payloadBytes]), .lz4)
                }
            }
        }
        return try body(contents, .uncompressed)
    }

    /// Masked CRC32C over payload ++ type byte.
    static func checksum(_ payload: UnsafeRawBufferPointer, _ type: UInt8) -> UInt32 {
        let crc = CRC32C.checksum(payload)
        return withUnsafeBytes(of: type) { CRC32C.mask(CRC32C.extend(crc, $0)) }
    }

    /// Calls `body` with the 5 trailer bytes for `payload` stored as `type`.
    package static func withTrailer<R, E: Error>(_ payload: UnsafeRawBufferPointer, _ type: BlockCompression,
                               _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8) = (type.rawValue, 0, 0, 0, 0)
        let crc = checksum(payload, type.rawValue)
        // Assumes: the 5-byte tuple is laid out contiguously; bytes 1...4 take the CRC.
        withUnsafeMutableBytes(of: &bytes) { $0.storeBytes(of: crc.littleEndian, toByteOffset: 1, as: UInt32.self) }
        return try withBytes(of: bytes, body)
    }

    /// Decodes a stored block (`stored` = payload ++ trailer, exactly
    /// handle.size + 5 bytes) into a `Block`. Errors name `path` and `offset`.
    package static func decode(_ stored: UnsafeRawBufferPointer, path: String, offset: UInt64) throws(DBError) -> Block {
        let (storage, count) = try decodeContents(stored, path: path, offset: offset)
        return try Block.make(takingOwnershipOf: storage, count: count, path: path, fileOffset: offset)
    }

    /// Decodes a stored meta block (filter, properties) and lends its contents to `body`.
    static func withDecodedContents<R>(_ stored: UnsafeRawBufferPointer, path: String, offset: UInt64,
                                       _ body: (UnsafeRawBufferPointer) throws(DBError) -> R) throws(DBError) -> R {
        let (storage, count) = try decodeContents(stored, path: path, offset: offset)
        defer { BlockMemory.free(storage) }
        return try body(UnsafeRawBufferPointer(start: storage.pointer, count: count))
    }

    /// Checks the CRC, then copies or decompresses the payload into fresh
    /// memory the caller owns (and must deallocate).
    ///
    /// `owner`: the caller's memory, which `stored` lies at the start of;
    /// an uncompressed payload is then returned in place (storage ==
    /// owner, no copy) and that memory becomes the result. The caller frees
    /// its memory only when the result is elsewhere (or when this throws).
    static func decodeContents(_ stored: UnsafeRawBufferPointer, path: String, offset: UInt64,
                               owner: BlockAllocation? = nil) throws(DBError) -> (storage: BlockAllocation, count: Int) {
        func corruption(_ reason: String) -> DBError { .corruption(path: path, offset: offset, reason: reason) }
        guard stored.count >= trailerSizeBytes else { throw corruption("stored block shorter than its trailer") }
        let payloadBytes = stored.count - trailerSizeBytes
        let payload = UnsafeRawBufferPointer(rebasing: stored[0..<payloadBytes])
        let type = stored[payloadBytes]
        let storedCRC = UInt32(littleEndian: stored.loadUnaligned(fromByteOffset: payloadBytes + 1, as: UInt32.self))
        guard checksum(payload, type) == storedCRC else {
            throw corruption("block checksum mismatch (\(payloadBytes) byte payload, type \(type))")
        }
        switch BlockCompression(rawValue: type) {
        case .uncompressed:
            if let owner {
                precondition(UnsafeRawPointer(owner.pointer) == stored.baseAddress && owner.capacity >= stored.count,
                             "an owned stored block lies at the start of its owner's memory")
                // The payload is the first payloadBytes of the caller's memory.
                return (owner, payloadBytes)
            }
            let storage = BlockMemory.allocate(minimumBytes: payloadBytes)
            if let src = payload.baseAddress, payloadBytes > 0 {
                storage.pointer.copyMemory(from: src, byteCount: payloadBytes)
            }
            return (storage, payloadBytes)
        case .lz4:
            var reader = ByteReader(payload)
            let rawBytes: Int
            do { rawBytes = try reader.readLength(limit: maxBlockBytes) } catch {
                throw corruption("LZ4 block: bad uncompressed length: \(error.reason)")
            }
            // LZ4 expands at most ~255x; a larger claim is a lie that would
            // make us allocate wildly.
            guard rawBytes <= reader.remaining * 255 + 16 else {
                throw corruption("LZ4 block claims \(rawBytes) bytes from \(reader.remaining) compressed bytes")
            }
            let compressed = UnsafeRawBufferPointer(rebasing: payload[reader.position...])
            let storage = BlockMemory.allocate(minimumBytes: rawBytes)
            let out = UnsafeMutableRawBufferPointer(start: storage.pointer, count: rawBytes)
            guard LZ4.decompress(compressed, into: out) != nil else {
                BlockMemory.free(storage)
                throw corruption("LZ4 block does not decompress to \(rawBytes) bytes")
            }
            return (storage, rawBytes)
        case nil:
            throw corruption("unknown block compression type \(type)")
        }
    }

    /// No block may decode to more than this (a single huge value makes a
    /// huge block; the engine caps values well below).
    static let maxBlockBytes = 1 << 30
}
