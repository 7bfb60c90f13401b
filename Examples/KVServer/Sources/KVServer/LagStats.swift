import Synchronization

/// Replication lag as the replica measures it: for every batch applied,
/// the wall-clock time it was applied minus the time the primary sent it
/// (same machine: one clock). `GET /lag` reports percentiles, `DELETE /lag`
/// starts over.
final class LagStats: Sendable {
    private struct State {
        var lagNanos: [UInt64] = []
        var changes = 0
    }

    /// Guards the recorded lags; written by the follower, read by `/lag`.
    private let state = Mutex(State())

    func record(_ applied: [ReceivedBatch], appliedUnixNanos: UInt64) {
        state.withLock { state in
            for received in applied {
                state.lagNanos.append(appliedUnixNanos &- min(received.sentUnixNanos, appliedUnixNanos))
                state.changes += received.batch.changes.count
            }
        }
    }

    func reset() { state.withLock { $0 = State() } }

    /// `batches N changes C p50 X ms p99 Y ms max Z ms`.
    func report() -> String {
        let (lags, changes) = state.withLock { ($0.lagNanos, $0.changes) }
        guard !lags.isEmpty else { return "batches 0 changes 0\n" }
        let sorted = lags.sorted()
        func ms(_ percentile: Double) -> String {
            let index = min(sorted.count - 1, Int((Double(sorted.count) * percentile / 100).rounded(.up)) - 1)
            let nanos = sorted[max(0, index)]
            return String(Double(nanos / 1000) / 1000)
        }
        return "batches \(sorted.count) changes \(changes) p50 \(ms(50)) ms p99 \(ms(99)) ms max \(ms(100)) ms\n"
    }
}
