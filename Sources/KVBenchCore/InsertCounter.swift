import Glibc
import Synchronization

/// YCSB's AcknowledgedCounterGenerator, shared by every client thread:
/// `next()` hands out new record numbers, `acknowledge(_:)` marks one as
/// written, and `lastValue` is the highest record number below which every
/// record was acknowledged. Key choosers never pick beyond `lastValue`, so a
/// read never races an insert that has not finished (found == reads).
///
/// Lock-free, so the benchmark takes no lock per operation: an acknowledged
/// record is stored in a ring slot (`record % windowSize`), and whoever
/// acknowledges advances `limit` with compare-and-swap over every slot that
/// holds the next record. A record more than `windowSize` ahead of `limit`
/// waits for the limit to catch up before it takes its slot (only possible
/// when one thread stalls for thousands of inserts of the others).
public final class InsertCounter: Sendable {
    public static let windowSize = 1 << 14

    /// The next record number to hand out.
    private let nextRecord: Atomic<Int64>
    /// Highest contiguous acknowledged record.
    private let limit: Atomic<Int64>
    /// Slot `r % windowSize` holds `r` once record r is acknowledged
    /// (-1: empty). Records below `limit` never look at their slot again.
    private let acknowledged: [Slot]

    private final class Slot: Sendable {
        let record = Atomic<Int64>(-1)
    }

    /// Records `0..<start` already exist.
    public init(start: Int64) {
        nextRecord = Atomic(start)
        limit = Atomic(start - 1)
        acknowledged = (0..<InsertCounter.windowSize).map { _ in Slot() }
    }

    public func next() -> Int64 {
        nextRecord.add(1, ordering: .relaxed).oldValue
    }

    public func acknowledge(_ record: Int64) {
        let window = Int64(InsertCounter.windowSize)
        // The slot is free once the record it last held is at or below limit.
        while record - limit.load(ordering: .acquiring) > window { sched_yield() }
        // Sequentially consistent: the slot store and the limit load below
        // (and an advancing thread's limit CAS and slot load) must not be
        // reordered, or both threads could miss each other's write and
        // leave `limit` behind an acknowledged record.
        acknowledged[Int(record % window)].record.store(record, ordering: .sequentiallyConsistent)
        var last = limit.load(ordering: .sequentiallyConsistent)
        while acknowledged[Int((last + 1) % window)].record.load(ordering: .sequentiallyConsistent) == last + 1 {
            let (exchanged, seen) = limit.compareExchange(expected: last, desired: last + 1,
                                                          ordering: .sequentiallyConsistent)
            last = exchanged ? last + 1 : seen
        }
    }

    public var lastValue: Int64 { limit.load(ordering: .acquiring) }
}
