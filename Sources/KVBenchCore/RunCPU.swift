import Glibc

/// Where a run's CPU went: the process's user + system seconds (getrusage,
/// every thread, from before the database opened to after it closed) and,
/// of those, what the engine's background threads (`ringkv-flush`,
/// `ringkv-compact`, `ringkv-bg`) and io_uring's workers (`iou-wrk-*`)
/// had spent when the run ended, read from `/proc/self/task/*/stat` (utime
/// and stime, fields 14 and 15) just before the database closed. On two
/// cores the clients get what the background leaves (issue #26), so
/// kvbench prints it beside the device bytes (`EngineIO`).
public struct RunCPU: Sendable {
    public var processSeconds: Double
    public var backgroundSeconds: Double
    public var ioWorkerSeconds: Double

    public init(processSeconds: Double, backgroundSeconds: Double, ioWorkerSeconds: Double) {
        self.processSeconds = processSeconds
        self.backgroundSeconds = backgroundSeconds
        self.ioWorkerSeconds = ioWorkerSeconds
    }

    /// User + system seconds of the whole process so far.
    public static func processSecondsNow() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        let seconds = { (t: timeval) in Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// CPU seconds of the live threads, summed by kind: (engine background
    /// threads, io_uring workers). Zeros where /proc is missing.
    public static func liveThreadSeconds() -> (background: Double, ioWorkers: Double) {
        guard let dir = opendir("/proc/self/task") else { return (0, 0) }
        defer { closedir(dir) }
        let ticks = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        var background = 0.0, ioWorkers = 0.0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.first?.isNumber == true,
                  let stat = ProcessIO.readSmallFile("/proc/self/task/\(name)/stat"),
                  let (comm, seconds) = parse(stat: stat, ticks: ticks) else { continue }
            if comm.hasPrefix("ringkv-flush") || comm.hasPrefix("ringkv-compact") || comm.hasPrefix("ringkv-bg") {
                background += seconds
            } else if comm.hasPrefix("iou-wrk") {
                ioWorkers += seconds
            }
        }
        return (background, ioWorkers)
    }

    /// The thread's name and utime + stime from one `stat` line: the name
    /// sits between the first "(" and the last ")", fields 14 and 15 are the
    /// 12th and 13th after it.
    public static func parse(stat: String, ticks: Double) -> (String, Double)? {
        guard let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"), open < close else { return nil }
        let comm = String(stat[stat.index(after: open)..<close])
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (comm, (user + system) / ticks)
    }
}
