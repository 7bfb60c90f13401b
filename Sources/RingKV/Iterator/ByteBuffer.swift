/// A growable byte buffer the iterator reuses for the current key or
/// value: `set` copies into it and allocates only when the bytes outgrow
/// it (doubling), so steady stepping allocates nothing.
///
/// Manually managed (a value type with a pointer): the owner calls
/// `deallocate` exactly once, and does not copy it.
struct ByteBuffer {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 8)
    }

    /// The bytes held; valid until the next `set` or `deallocate`.
    @inline(__always)
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Replaces the contents with a copy of `source`.
    @inline(__always)
    mutating func set(_ source: UnsafeRawBufferPointer) {
        if source.count > capacity {
            base.deallocate()
            capacity = max(source.count, capacity * 2)
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        }
        // Assumes: capacity >= source.count (grown above).
        if let src = source.baseAddress, source.count > 0 { base.copyMemory(from: src, byteCount: source.count) }
        count = source.count
    }

    func deallocate() { base.deallocate() }
}
