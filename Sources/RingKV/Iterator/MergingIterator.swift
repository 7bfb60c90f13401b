/// Merges sorted children into one sorted stream. On equal internal keys
/// (which cannot happen across sources, as sequence numbers are unique)
/// the earlier child wins. A binary min-heap keeps `next` at O(log n).
final class MergingIterator: InternalIterator {
    private let children: [any InternalIterator]
    /// Indices of valid children, heap-ordered by their current key.
    /// Exclusivity unchecked: one thread uses the iterator, no re-entry.
    @exclusivity(unchecked) private var heap: [Int] = []

    init(_ children: [any InternalIterator]) {
        self.children = children
    }

    var isValid: Bool { !heap.isEmpty }
    var key: UnsafeRawBufferPointer { children[heap[0]].key }
    var value: UnsafeRawBufferPointer { children[heap[0]].value }

    func seekToFirst() throws {
        for child in children { try child.seekToFirst() }
        rebuild()
    }

    func seek(_ target: UnsafeRawBufferPointer) throws {
        for child in children { try child.seek(target) }
        rebuild()
    }

    func next() throws {
        precondition(isValid, "next() on an invalid MergingIterator")
        let top = heap[0]
        try children[top].next()
        if children[top].isValid {
            siftDown(0)
        } else {
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
        }
    }

    // MARK: - Heap

    private func rebuild() {
        // Reuses the heap's storage: a seek allocates nothing here.
        heap.removeAll(keepingCapacity: true)
        for i in children.indices where children[i].isValid { heap.append(i) }
        var i = heap.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    @inline(__always)
    private func less(_ a: Int, _ b: Int) -> Bool {
        let c = InternalKey.compare(children[a].key, children[b].key)
        return c < 0 || (c == 0 && a < b)
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count && less(heap[l], heap[smallest]) { smallest = l }
            if r < heap.count && less(heap[r], heap[smallest]) { smallest = r }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
