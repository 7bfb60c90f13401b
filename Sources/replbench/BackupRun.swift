import Glibc
import KVBenchCore
import RingKV

/// `replbench DIR --backup`: the bytes an incremental backup copies (issue
/// 25: a second backup after 10 % new data copies <= 20 % of the
/// database's bytes).
///
/// Data flow: load `records` YCSB records (random key order, as the load
/// row) into DIR/primary with default options (compactions run as they
/// would), flush, back up into DIR/backups; load `records / 10` new
/// records, flush, back up again. Prints both backups' copied and total
/// bytes and the second's share, one line and one JSON line.
struct BackupRun {
    let config: Config
    let dir: String

    func run() throws {
        let (primary, replica) = try openBoth(dir)
        try replica.close()
        let backups = dir + "/backups"
        removeBackups(backups)
        try load(primary, config)
        try primary.flush()
        let first = try primary.backup(to: backups)
        var more = config
        more.records = config.records / 10
        try loadMore(primary, from: config.records, count: more.records, valueSize: config.valueSize)
        try primary.flush()
        let second = try primary.backup(to: backups)
        let share = Double(second.bytesCopied) / Double(max(1, second.totalBytes))
        print("backup 1 copied \(first.bytesCopied) of \(first.totalBytes) bytes; after \(more.records) new records "
              + "backup 2 copied \(second.bytesCopied) of \(second.totalBytes) bytes (\(percent(share)) %)")
        print("{\"records\":\(config.records),\"new_records\":\(more.records),\"value_size\":\(config.valueSize),"
              + "\"first_copied_bytes\":\(first.bytesCopied),\"first_total_bytes\":\(first.totalBytes),"
              + "\"second_copied_bytes\":\(second.bytesCopied),\"second_total_bytes\":\(second.totalBytes),"
              + "\"second_share\":\(percent(share / 100))}")
        try primary.close()
        removeBackups(backups)
    }

    /// Records `from ..< from + count`, one thread, unsynced.
    private func loadMore(_ db: DB, from: Int, count: Int, valueSize: Int) throws {
        var value = [UInt8](repeating: 7, count: valueSize)
        for n in from..<(from + count) {
            value[n % valueSize] &+= 1
            try db.put(YCSBKeys.key(Int64(n)), value)
        }
    }

    private func percent(_ share: Double) -> String {
        let milli = Int((share * 100_000).rounded())
        return "\(milli / 1000).\(String(1000 + milli % 1000).dropFirst())"
    }

    /// The benchmark's backup directory from an earlier run (files two levels deep).
    private func removeBackups(_ path: String) {
        _ = system("rm -rf '\(path)'")
    }
}
