import Glibc
import RingKV

/// What a run cost the device and the engine's files, beside its speed:
/// bytes the process read from and wrote to block devices (`/proc/self/io`
/// `read_bytes` / `write_bytes`, every thread, from before the database
/// opened to after it closed; `write_bytes` counts pages as they are
/// dirtied, a whole page-cache folio at a time: see `DiskIO`), the bytes
/// the database's disk wrote meanwhile (`/proc/diskstats`, every
/// process's), data blocks read from table files per get
/// (read amplification), and table bytes written into each level per user
/// byte written (write amplification per level). kvbench prints it in its
/// summary and as the extra `"io"` object of its JSON line.
public struct EngineIO: Sendable {
    /// Device bytes over the whole run, open and close included.
    public var deviceReadBytes: UInt64
    public var deviceWriteBytes: UInt64
    /// What the database's disk wrote over the run (every process's), and
    /// its name; nil when unknown.
    public var disk: DiskIO?
    /// Data blocks gets and multiGets read from table files (block cache
    /// misses: from the page cache or the device).
    public var lookupBlocksRead: UInt64
    /// Blocks read when tables were opened (footer, index, filter,
    /// properties): once per table while it stays in the table cache.
    public var tableOpenBlocksRead: UInt64
    /// Table bytes written into L0 (flushes) and each deeper level
    /// (compaction outputs), `DBStats.levelBytesWritten`.
    public var tableBytesByLevel: [UInt64]
    /// Index, filter and tombstone memory of the open tables at the end.
    public var pinnedTableMemoryBytes: Int
    /// The run's CPU and the background threads' share, when measured.
    public var cpu: RunCPU?

    public init(deviceReadBytes: UInt64, deviceWriteBytes: UInt64, lookupBlocksRead: UInt64,
                tableOpenBlocksRead: UInt64, tableBytesByLevel: [UInt64], pinnedTableMemoryBytes: Int,
                disk: DiskIO? = nil) {
        self.deviceReadBytes = deviceReadBytes
        self.deviceWriteBytes = deviceWriteBytes
        self.disk = disk
        self.lookupBlocksRead = lookupBlocksRead
        self.tableOpenBlocksRead = tableOpenBlocksRead
        self.tableBytesByLevel = tableBytesByLevel
        self.pinnedTableMemoryBytes = pinnedTableMemoryBytes
    }

    /// The engine's part, from its stats at the end of a run, and the
    /// device bytes between two `ProcessIO` readings (and two `DiskIO`
    /// readings of the same disk, when both are known).
    public init(stats: DBStats, from start: ProcessIO, to end: ProcessIO,
                diskFrom diskStart: DiskIO? = nil, diskTo diskEnd: DiskIO? = nil) {
        var disk: DiskIO?
        if let diskStart, let diskEnd, diskStart.device == diskEnd.device {
            disk = DiskIO(device: diskEnd.device, writtenBytes: diskEnd.writtenBytes &- diskStart.writtenBytes)
        }
        self.init(deviceReadBytes: end.readBytes &- start.readBytes,
                  deviceWriteBytes: end.writeBytes &- start.writeBytes,
                  lookupBlocksRead: stats.lookupBlocksRead, tableOpenBlocksRead: stats.tableOpenBlocksRead,
                  tableBytesByLevel: stats.levelBytesWritten, pinnedTableMemoryBytes: stats.pinnedTableMemoryBytes,
                  disk: disk)
    }

    /// Per-level bytes as multiples of `userBytes` (empty when 0).
    func amplificationByLevel(userBytes: UInt64) -> [Double] {
        userBytes == 0 ? [] : tableBytesByLevel.map { Double($0) / Double(userBytes) }
    }

    /// The `"io"` object of the JSON line.
    func json(_ result: RunResult) -> String {
        let ops = Double(max(result.operations, 1))
        let gets = Double(max(result.reads, 1))
        let user = result.userBytesWritten
        let levels = amplificationByLevel(userBytes: user).map { BenchReport.jsonNumber($0, decimals: 3) }
        return "{\"device_read_bytes\":\(deviceReadBytes),\"device_write_bytes\":\(deviceWriteBytes),"
            + "\"read_bytes_per_op\":\(BenchReport.jsonNumber(Double(deviceReadBytes) / ops, decimals: 1)),"
            + "\"write_bytes_per_op\":\(BenchReport.jsonNumber(Double(deviceWriteBytes) / ops, decimals: 1)),"
            + (disk.map { "\"disk\":\"\($0.device)\",\"disk_write_bytes\":\($0.writtenBytes)," } ?? "")
            + "\"user_bytes_written\":\(user),"
            + "\"write_amplification\":"
            + "\(BenchReport.jsonNumber(user == 0 ? 0 : Double(deviceWriteBytes) / Double(user), decimals: 3)),"
            + "\"blocks_read_per_get\":"
            + "\(BenchReport.jsonNumber(result.reads == 0 ? 0 : Double(lookupBlocksRead) / gets, decimals: 3)),"
            + "\"table_open_blocks_read\":\(tableOpenBlocksRead),"
            + "\"table_bytes_by_level\":[\(tableBytesByLevel.map { "\($0)" }.joined(separator: ","))],"
            + "\"write_amp_by_level\":[\(levels.joined(separator: ","))],"
            + "\"pinned_table_memory_bytes\":\(pinnedTableMemoryBytes)"
            + (cpu.map {
                ",\"cpu_seconds\":\(BenchReport.jsonNumber($0.processSeconds, decimals: 2)),"
                    + "\"background_cpu_seconds\":\(BenchReport.jsonNumber($0.backgroundSeconds, decimals: 2)),"
                    + "\"io_worker_cpu_seconds\":\(BenchReport.jsonNumber($0.ioWorkerSeconds, decimals: 2))"
            } ?? "") + "}"
    }

    /// Lines for the summary table.
    func lines(_ result: RunResult) -> [String] {
        let ops = Double(max(result.operations, 1))
        let mib = { (bytes: UInt64) in BenchReport.fixed(Double(bytes) / 1_048_576, 1) }
        var lines = ["device: read \(mib(deviceReadBytes)) MiB, wrote \(mib(deviceWriteBytes)) MiB = "
                     + "\(BenchReport.fixed(Double(deviceReadBytes) / ops, 0)) B read, "
                     + "\(BenchReport.fixed(Double(deviceWriteBytes) / ops, 0)) B written per operation "
                     + "(/proc/self/io: written = pages dirtied, a whole page-cache folio at a time)"]
        if let disk {
            lines.append("disk \(disk.device): wrote \(mib(disk.writtenBytes)) MiB during the run = "
                         + "\(BenchReport.fixed(Double(disk.writtenBytes) / ops, 0)) B per operation "
                         + "(/proc/diskstats: every process writing to it)")
        }
        if result.reads > 0 {
            lines.append("reads: \(BenchReport.fixed(Double(lookupBlocksRead) / Double(result.reads), 3)) data blocks "
                         + "read per get, \(tableOpenBlocksRead) blocks read by table opens; pinned index and "
                         + "filter memory \(mib(UInt64(pinnedTableMemoryBytes))) MiB")
        }
        let user = result.userBytesWritten
        if user > 0 {
            let levels = amplificationByLevel(userBytes: user).enumerated()
                .filter { tableBytesByLevel[$0.offset] > 0 }
                .map { "L\($0.offset) \(BenchReport.fixed($0.element, 2))" }
            lines.append("write amplification: device \(BenchReport.fixed(Double(deviceWriteBytes) / Double(user), 2))"
                         + " × the \(mib(user)) MiB of keys and values written; table bytes per level: "
                         + (levels.isEmpty ? "none" : levels.joined(separator: ", ")))
        }
        if let cpu {
            lines.append("cpu: \(BenchReport.fixed(cpu.processSeconds, 2)) s (user + system), of which flush and "
                         + "compaction threads \(BenchReport.fixed(cpu.backgroundSeconds, 2)) s, io_uring workers "
                         + "\(BenchReport.fixed(cpu.ioWorkerSeconds, 2)) s (until close)")
        }
        return lines
    }
}

/// This process's block-device bytes so far (`/proc/self/io`; zeros
/// where the file is missing, as without task I/O accounting).
public struct ProcessIO: Sendable {
    public var readBytes: UInt64 = 0
    public var writeBytes: UInt64 = 0

    public init(readBytes: UInt64 = 0, writeBytes: UInt64 = 0) {
        self.readBytes = readBytes
        self.writeBytes = writeBytes
    }

    /// Reads /proc/self/io now.
    public static func current() -> ProcessIO {
        var result = ProcessIO()
        guard let text = readSmallFile("/proc/self/io") else { return result }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = UInt64(parts[1].drop(while: { $0 == " " })) else { continue }
            switch parts[0] {
            case "read_bytes": result.readBytes = value
            case "write_bytes": result.writeBytes = value
            default: break
            }
        }
        return result
    }

    /// The file's first `capacity` bytes (one read: /proc files are
    /// generated whole by a read this large).
    static func readSmallFile(_ path: String, capacity: Int = 4096) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: capacity)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: bytes[..<n], as: UTF8.self)
    }
}
