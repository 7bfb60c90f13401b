import Synchronization

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
    // property is a `let` of a Sendable type (the layout's pointer is into
    // `storage`, read-only).
    private let storage: BlockAllocation
    /// Where entries and restarts lie in `storage`.
    let layout: BlockLayout
    /// The file and block offset this block came from, for error messages.
    package let path: String
    let fileOffset: UInt64
    /// The block cache's CLOCK bit: set by every hit, cleared by a sweep
    /// that passes it (`ClockList`).
    private let referenced = Atomic<Bool>(false)

    /// Base address of the contents (== storage).
    var base: UnsafeRawPointer { layout.base }
    package var count: Int { layout.count }
    var contents: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: layout.base, count: layout.count) }

    /// Bytes of memory held, for cache accounting: the allocation (size
    /// class included, as RocksDB charges malloc's usable size) and the
    /// object.
    var memoryBytes: Int { storage.capacity + 96 }

    private init(storage: BlockAllocation, layout: BlockLayout, path: String, fileOffset: UInt64) {
        self.storage = storage
        self.layout = layout
        self.path = path
        self.fileOffset = fileOffset
    }

    deinit { BlockMemory.free(storage) }

    /// Takes ownership of the first `count` bytes of `storage`. On a thrown
    /// error the memory is freed here, so the caller never frees it.
    static func make(takingOwnershipOf storage: BlockAllocation, count: Int,
                     path: String, fileOffset: UInt64) throws(DBError) -> Block {
        precondition(storage.capacity >= count, "block storage of \(storage.capacity) bytes holds \(count)")
        let layout: BlockLayout
        do throws(DecodeError) {
            layout = try BlockLayout(base: UnsafeRawPointer(storage.pointer), count: count)
        } catch {
            BlockMemory.free(storage)
            throw DBError.corruption(path: path, offset: fileOffset, reason: error.reason)
        }
        return Block(storage: storage, layout: layout, path: path, fileOffset: fileOffset)
    }

    /// A block holding a copy of `bytes`.
    package static func make(copying bytes: UnsafeRawBufferPointer, path: String, fileOffset: UInt64) throws(DBError) -> Block {
        let storage = BlockMemory.allocate(minimumBytes: bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 {
            storage.pointer.copyMemory(from: src, byteCount: bytes.count)
        }
        return try make(takingOwnershipOf: storage, count: bytes.count, path: path, fileOffset: fileOffset)
    }

    /// A block holding a copy of `bytes` that did not come from a file (tests, tools).
    package static func make(copying bytes: [UInt8], path: String = "<memory>", fileOffset: UInt64 = 0) throws(DBError) -> Block {
        try bytes.withBytes { (raw) throws(DBError) in try make(copying: raw, path: path, fileOffset: fileOffset) }
    }

    package func makeIterator() -> BlockIterator { BlockIterator(self) }

    /// Runs `body` with a cursor over this block whose key buffer is on the
    /// stack; the block stays alive meanwhile.
    @inline(__always)
    func withCursor<R, E: Error>(_ body: (inout BlockCursor) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(self) { () throws(E) in try BlockCursor.withCursor(layout, body) }
    }

    @inline(__always)
    func markReferenced() {
        // Load first: a hot block is already marked, and a store would pull
        // its cache line away from the other cores reading it.
        if !referenced.load(ordering: .relaxed) { referenced.store(true, ordering: .relaxed) }
    }

    /// Clears the CLOCK bit; returns whether it was set.
    func clearReferenced() -> Bool { referenced.exchange(false, ordering: .relaxed) }

    func corruption(_ reason: String) -> DBError {
        .corruption(path: path, offset: fileOffset, reason: "block: " + reason)
    }

    func corruption(_ error: DecodeError) -> DBError { corruption(error.reason) }
}
