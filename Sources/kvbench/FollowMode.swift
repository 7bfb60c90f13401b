import Glibc
import KVBenchCore
import RingKV

/// `kvbench --follow`: how long a follower's `catchUp()` takes.
///
/// A primary is created at `--db` (which must not exist yet) and a follower opened on
/// it in this process (a follower takes no lock, so this is what another
/// process would do). Each of `--rounds` rounds the primary writes
/// `--records` new records (YCSB keys, `--value-size` bytes, WriteBatches
/// of 1,000, sync off), then the follower catches up, timed, and must
/// return the round's last record. Reports each catch-up and the median.
struct FollowMode {
    let dbPath: String
    let config: BenchConfig
    let rounds: Int
    let json: Bool

    func run() throws {
        let primary = try DB(path: dbPath, options: config.makeOptions())
        defer { try? primary.close() }
        let follower = try DB(followerOf: dbPath, options: config.makeOptions())
        defer { try? follower.close() }
        let value = [UInt8](repeating: 0x61, count: config.valueSizeBytes)
        var timesNanos: [UInt64] = []
        var next: Int64 = 0
        for round in 0..<rounds {
            var batch = WriteBatch()
            for _ in 0..<config.records {
                batch.put(YCSBKeys.key(next), value)
                next += 1
                if batch.count >= 1000 {
                    try primary.write(batch)
                    batch = WriteBatch()
                }
            }
            if batch.count > 0 { try primary.write(batch) }
            let started = MonotonicNanos.now()
            try follower.catchUp()
            let nanos = MonotonicNanos.now() - started
            guard try follower.get(YCSBKeys.key(next - 1)) == value else {
                throw FollowCheckFailed(round: round)
            }
            timesNanos.append(nanos)
            if !json {
                print("round \(round + 1): catchUp after \(config.records) new records took \(nanos / 1000) µs")
            }
        }
        let median = timesNanos.sorted()[timesNanos.count / 2]
        if json {
            print("{\"mode\":\"follow\",\"records_per_round\":\(config.records),\"rounds\":\(rounds),"
                  + "\"catchup_median_us\":\(median / 1000),\"catchup_max_us\":\((timesNanos.max() ?? 0) / 1000)}")
        } else {
            print("catchUp median \(median / 1000) µs over \(rounds) rounds of \(config.records) records")
        }
    }

    struct FollowCheckFailed: Error, CustomStringConvertible {
        let round: Int
        var description: String { "round \(round + 1): the follower did not see the round's last record" }
    }
}
