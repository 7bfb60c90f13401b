/// Merges sorted children into one sorted stream, in either direction. On
/// equal internal keys (which cannot happen across sources, as sequence
/// numbers are unique) the earlier child wins. A binary heap keeps a step
/// at O(log n): a min-heap moving forward, a max-heap moving backward.
///
/// Direction switches (as in LevelDB's merging iterator): moving forward,
/// every child other than the current one sits at its first entry past the
/// current key; moving backward, at its last entry before it. A switch
/// re-seeks every other child to the current key (`seek`, or `seekForPrev`
/// going back), so it costs one seek per child — a step in the same
/// direction as the last one costs a single child's step.
final class MergingIterator: InternalIterator {
    private let children: [any InternalIterator]
    /// Indices of valid children, heap-ordered by their current key
    /// (smallest on top forward, largest on top in reverse).
    /// Exclusivity unchecked: one thread uses the iterator, no re-entry.
    @exclusivity(unchecked) private var heap: [Int] = []
    @exclusivity(unchecked) private var reverse = false

    init(_ children: [any InternalIterator]) {
        self.children = children
    }

    var isValid: Bool { !heap.isEmpty }
    var key: UnsafeRawBufferPointer { children[heap[0]].key }
    var value: UnsafeRawBufferPointer { children[heap[0]].value }

    func seekToFirst() throws(DBError) {
        for child in children { try child.seekToFirst() }
        rebuild(reverse: false)
    }

    func seekToLast() throws(DBError) {
        for child in children { try child.seekToLast() }
        rebuild(reverse: true)
    }

    func seek(_ target: UnsafeRawBufferPointer) throws(DBError) {
        if children.count >= SeekReadBatch.minimumBlocks {
            // The blocks every child's seek needs, read together first.
            var batch = SeekReadBatch()
            for child in children { try child.planSeekRead(target, into: &batch) }
            batch.execute()
        }
        for child in children { try child.seek(target) }
        rebuild(reverse: false)
    }

    func seekForPrev(_ target: UnsafeRawBufferPointer) throws(DBError) {
        for child in children { try child.seekForPrev(target) }
        rebuild(reverse: true)
    }

    func next() throws(DBError) {
        precondition(isValid, "next() on an invalid MergingIterator")
        let top = heap[0]
        if reverse {
            // The other children sit before the current key: move each to
            // its first entry past it. `key` stays valid meanwhile (it is
            // the top child's, which does not move until below).
            let current = children[top].key
            for i in children.indices where i != top {
                let child = children[i]
                try child.seek(current)
                if child.isValid && InternalKey.compare(child.key, current) == 0 { try child.next() }
            }
            try children[top].next()
            rebuild(reverse: false)
            return
        }
        try children[top].next()
        settleTop(top)
    }

    func prev() throws(DBError) {
        precondition(isValid, "prev() on an invalid MergingIterator")
        let top = heap[0]
        if !reverse {
            // The other children sit after the current key: move each to
            // its last entry before it (no other child holds the key itself).
            let current = children[top].key
            for i in children.indices where i != top {
                let child = children[i]
                try child.seekForPrev(current)
                if child.isValid && InternalKey.compare(child.key, current) == 0 { try child.prev() }
            }
            try children[top].prev()
            rebuild(reverse: true)
            return
        }
        try children[top].prev()
        settleTop(top)
    }

    // MARK: - Heap

    /// After the top child moved: sift it down, or drop it when exhausted.
    @inline(__always)
    private func settleTop(_ top: Int) {
        if children[top].isValid {
            siftDown(0)
        } else {
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
        }
    }

    private func rebuild(reverse: Bool) {
        self.reverse = reverse
        // Reuses the heap's storage: a seek allocates nothing here.
        heap.removeAll(keepingCapacity: true)
        for i in children.indices where children[i].isValid { heap.append(i) }
        var i = heap.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    /// Whether child `a` belongs above child `b` in the heap.
    @inline(__always)
    private func before(_ a: Int, _ b: Int) -> Bool {
        let c = InternalKey.compare(children[a].key, children[b].key)
        return (reverse ? c > 0 : c < 0) || (c == 0 && a < b)
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count && before(heap[l], heap[best]) { best = l }
            if r < heap.count && before(heap[r], heap[best]) { best = r }
            if best == i { return }
            heap.swapAt(i, best)
            i = best
        }
    }
}
