import Synchronization

/// YCSB's AcknowledgedCounterGenerator, shared by every client thread:
/// `next()` hands out new record numbers, `acknowledge(_:)` marks one as
/// written, and `lastValue` is the highest record number below which every
/// record was acknowledged. Key choosers never pick beyond `lastValue`, so a
/// read never races an insert that has not finished (found == reads).
public final class InsertCounter: Sendable {
    /// The next record number to hand out.
    private let nextRecord: Atomic<Int64>
    /// Highest contiguous acknowledged record; written only with `pending`
    /// locked, read lock-free (acquire pairs with the release store).
    private let limit: Atomic<Int64>
    /// Acknowledged records above `limit + 1` (out-of-order completions).
    private let pending = Mutex<Set<Int64>>([])

    /// Records `0..<start` already exist.
    public init(start: Int64) {
        nextRecord = Atomic(start)
        limit = Atomic(start - 1)
    }

    public func next() -> Int64 {
        nextRecord.add(1, ordering: .relaxed).oldValue
    }

    public func acknowledge(_ record: Int64) {
        pending.withLock { set in
            var last = limit.load(ordering: .relaxed)
            if record == last + 1 {
                last += 1
                while set.remove(last + 1) != nil { last += 1 }
                limit.store(last, ordering: .releasing)
            } else {
                set.insert(record)
            }
        }
    }

    public var lastValue: Int64 { limit.load(ordering: .acquiring) }
}
