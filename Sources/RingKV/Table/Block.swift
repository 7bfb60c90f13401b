/// The decoded (uncompressed, checksum-verified) contents of one block,
/// in memory the block owns. Layout: see `BlockBuilder` and docs/FORMAT.md
/// §SSTable "Block contents". Construction checks the restart array fits;
/// entries are checked as `BlockIterator` walks them.
///
/// Blocks are immutable after `init`, so one block may be shared by many
/// readers at once (the block cache hands the same block to several threads).
package final class Block: @unchecked Sendable {
    // @unchecked Sendable: `storage` is written only inside `make` before the
    // block is published and freed only in deinit; every other stored
    // property is a `let` of a Sendable type.
    private let storage: UnsafeMutableRawPointer
    /// Base address of the contents (== storage).
    let base: UnsafeRawPointer
    package let count: Int
    /// Where the restart array starts; entries occupy [0, restartsOffset).
    let restartsOffset: Int
    let restartCount: Int
    /// The file and block offset this block came from, for error messages.
    package let path: String
    let fileOffset: UInt64

    var contents: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Bytes of memory held, for cache accounting.
    var memoryBytes: Int { count + 96 }

    private init(storage: UnsafeMutableRawPointer, count: Int, restartsOffset: Int, restartCount: Int,
                 path: String, fileOffset: UInt64) {
        self.storage = storage
        self.base = UnsafeRawPointer(storage)
        self.count = count
        self.restartsOffset = restartsOffset
        self.restartCount = restartCount
        self.path = path
        self.fileOffset = fileOffset
    }

    deinit { storage.deallocate() }

    /// Takes ownership of `count` bytes at `storage` (allocated with
    /// `UnsafeMutableRawPointer.allocate`). On a thrown error the memory is
    /// freed here, so the caller never frees it.
    package static func make(takingOwnershipOf storage: UnsafeMutableRawPointer, count: Int,
                     path: String, fileOffset: UInt64) throws -> Block {
        let headerBytes = 4
        guard count >= headerBytes else {
            storage.deallocate()
            throw DBError.corruption(path: path, offset: fileOffset,
                                     reason: "block of \(count) bytes is too short for its restart count")
        }
        let restartCount = Int(UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
        let maxRestarts = (count - headerBytes) / 4
        guard restartCount >= 1, restartCount <= maxRestarts else {
            storage.deallocate()
            throw DBError.corruption(path: path, offset: fileOffset,
                                     reason: "block restart count \(restartCount) does not fit \(count) bytes")
        }
        return Block(storage: storage, count: count, restartsOffset: count - headerBytes - restartCount * 4,
                     restartCount: restartCount, path: path, fileOffset: fileOffset)
    }

    /// A block holding a copy of `bytes`.
    package static func make(copying bytes: UnsafeRawBufferPointer, path: String, fileOffset: UInt64) throws -> Block {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        if let src = bytes.baseAddress, bytes.count > 0 {
            storage.copyMemory(from: src, byteCount: bytes.count)
        }
        return try make(takingOwnershipOf: storage, count: bytes.count, path: path, fileOffset: fileOffset)
    }

    /// A block holding a copy of `bytes` that did not come from a file (tests, tools).
    package static func make(copying bytes: [UInt8], path: String = "<memory>", fileOffset: UInt64 = 0) throws -> Block {
        try bytes.withUnsafeBytes { try make(copying: $0, path: path, fileOffset: fileOffset) }
    }

    /// The entry offset stored in restart slot `index` (< restartCount),
    /// checked to point inside the entry area.
    @inline(__always)
    func restartPoint(_ index: Int) throws -> Int {
        let at = restartsOffset + index * 4
        let value = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        guard value < restartsOffset || (value == 0 && restartsOffset == 0) else {
            throw corruption("restart point \(index) = \(value) lies outside the entries (\(restartsOffset) bytes)")
        }
        return value
    }

    package func makeIterator() -> BlockIterator { BlockIterator(self) }

    func corruption(_ reason: String) -> DBError {
        .corruption(path: path, offset: fileOffset, reason: "block: " + reason)
    }
}
