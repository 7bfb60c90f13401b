#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RingIO

/// Options and the run loop. Every mode issues the same N reads into the
/// same buffer slots; each run's bytes are checked against the pattern.
struct IOBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iobench",
        abstract: "Issue the same N random block reads through io_uring, pread, a thread pool and POSIX aio; "
            + "with --write, the same N appends through pwrite, io_uring write and write_fixed.",
        discussion: """
            Reads: the test file is created once (or reused when its size and header match) with a pattern in \
            which every 8-byte word holds its offset xor a seed, so every read is verified. CPU is \
            getrusage(RUSAGE_SELF) user+sys over wall time, as a percentage of one core; it includes \
            io_uring and glibc aio helper threads. 'syscalls' counts io_uring_enter calls made through \
            Ring.submit* (uring modes), pread calls (sync, threads) or aio_read+aio_suspend calls (aio; \
            glibc's helper threads issue one pread64 per request on top).

            Writes (--write): N appends of --block-size bytes to a fresh preallocated file (--file), buffered \
            unless --direct, --batch at a time, each batch followed by fdatasync with --sync (through \
            io_uring in the same io_uring_enter, linked to a single write). Reports wall and CPU time \
            and context switches per write (io-wq workers included). Modes: pwrite, uring-write, \
            uring-write-fixed. Example: iobench --write -n 20000 --block-size 1024 --repeat 5.

            Where io_uring_setup is refused (seccomp, kernel.io_uring_disabled), the io_uring modes \
            are skipped with one notice and the others run.
            """)

    @Option(help: "Benchmark file path.")
    var file = "/tmp/iobench-pattern.dat"

    @Option(name: .customLong("file-size-mb"), help: "File size in MiB.")
    var fileSizeMegabytes = 1024

    @Option(name: [.customShort("n"), .long], help: "Number of random reads per run.")
    var reads = 1000

    @Option(help: "Bytes per read (a multiple of 4096).")
    var blockSize = 4096

    @Option(help: "Seed for the read offsets.")
    var seed: UInt64 = 42

    @Option(help: "Mode: \(ModeSelection.allValueStrings.joined(separator: "|")).")
    var mode: ModeSelection = .all

    @Option(help: "Most io_uring reads in flight (default: all N).")
    var queueDepth: Int?

    @Option(help: "Threads for the 'threads' mode.")
    var threads = 16

    @Option(help: "Idle time before the SQPOLL kernel thread sleeps, in ms.")
    var sqpollIdleMs = 100

    @Option(name: .customLong("repeat"), help: "Runs per mode; min and median wall time are reported.")
    var repeatCount = 1

    @Flag(help: "Buffered reads through the page cache instead of O_DIRECT.")
    var buffered = false

    @Flag(help: "Print one JSON object per run instead of the table.")
    var json = false

    @Flag(help: "The write drill: N appends instead of N random reads.")
    var write = false

    @Option(help: "Write drill: appends per submission (pwrite: calls in a row).")
    var batch = 1

    @Flag(help: "Write drill: fdatasync after each batch.")
    var sync = false

    @Flag(help: "Write drill: O_DIRECT appends (--block-size a multiple of 4096).")
    var direct = false

    func validate() throws {
        if write {
            guard blockSize > 0 && (!direct || blockSize % 4096 == 0) else {
                throw ValidationError("--block-size must be positive (a multiple of 4096 with --direct)")
            }
            guard batch > 0 && batch <= 4096 else { throw ValidationError("--batch must be 1 ... 4096") }
            guard reads > 0 && repeatCount > 0 else { throw ValidationError("-n and --repeat must be positive") }
            if case .one(let m) = mode, !m.isWrite { throw ValidationError("--write takes pwrite, uring-write or uring-write-fixed") }
            return
        }
        if case .one(let m) = mode, m.isWrite { throw ValidationError("\(m.rawValue) is a mode of the write drill (--write)") }
        guard blockSize > 0 && blockSize % 4096 == 0 else { throw ValidationError("--block-size must be a multiple of 4096") }
        guard fileSizeMegabytes > 0 else { throw ValidationError("--file-size-mb must be positive") }
        guard (fileSizeMegabytes << 20) % blockSize == 0 && (fileSizeMegabytes << 20) / blockSize >= 2 else {
            throw ValidationError("the file must hold at least two whole blocks")
        }
        guard reads > 0 else { throw ValidationError("--reads must be positive") }
        guard (queueDepth ?? 1) > 0 else { throw ValidationError("--queue-depth must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        guard repeatCount > 0 else { throw ValidationError("--repeat must be positive") }
        guard sqpollIdleMs > 0 else { throw ValidationError("--sqpoll-idle-ms must be positive") }
    }

    func run() throws {
        if write { return try runWriteDrill() }
        let sizeBytes = UInt64(fileSizeMegabytes) << 20
        let reused = try PatternFile.prepare(path: file, sizeBytes: sizeBytes, log: notice)
        let plan = ReadPlan(count: reads, fileSizeBytes: sizeBytes, blockSizeBytes: blockSize, seed: seed)
        let handle: File
        do {
            handle = try File.open(file, .read, direct: buffered ? .off : .required)
        } catch {
            throw BenchError.io("\(error)")
        }
        defer { try? handle.close() }
        let destination = AlignedBuffer(capacity: plan.totalBytes)
        let ctx = BenchContext(file: handle, plan: plan, buffer: destination.pointer,
                               queueDepth: queueDepth ?? reads, threads: threads, sqPollIdleMillis: sqpollIdleMs)
        let modes = IOBench.available(mode.modes(write: false))
        let config: [(String, String)] = [
            ("file", Report.quoted(file)), ("file_bytes", String(sizeBytes)), ("reads", String(reads)),
            ("block_size", String(blockSize)), ("seed", String(seed)), ("direct", String(!buffered)),
            ("queue_depth", String(min(ctx.queueDepth, reads))), ("threads", String(threads)),
        ]
        if !json {
            print("iobench: \(reads) random \(blockSize)-byte reads, seed \(seed), \(buffered ? "buffered" : "O_DIRECT"), "
                  + "file \(file) (\(fileSizeMegabytes) MiB, \(reused ? "reused" : "created")), "
                  + "queue depth \(min(ctx.queueDepth, reads)), \(threads) threads, \(repeatCount) run(s) per mode")
        }

        // Runs interleave the modes (m1 m2 ... m1 m2 ...) so slow drift in
        // the machine does not favour one mode.
        var samples: [BenchMode: [RunSample]] = [:]
        for run in 1...repeatCount {
            for m in modes {
                destination.bytes.initializeMemory(as: UInt8.self, repeating: 0)
                // Start every run with the file out of the page cache, so
                // buffered modes all read from the device. (O_DIRECT ignores
                // the cache; dropping it there is harmless.)
                _ = posix_fadvise(handle.fd, 0, 0, POSIX_FADV_DONTNEED)
                let sample = try runMode(m, ctx, run: run)
                try plan.verify(destination.pointer, mode: m, path: file)
                samples[m, default: []].append(sample)
                if json {
                    print(Report.json(sample, config: config, reads: reads, blockSizeBytes: blockSize))
                }
            }
        }
        if !json {
            let summaries = modes.map { ModeSummary(mode: $0, runs: samples[$0] ?? [], reads: reads, blockSizeBytes: blockSize) }
            print(Report.table(summaries))
            print("all \(reads * repeatCount * modes.count) reads verified against the pattern; CPU % is user+sys of "
                  + "all threads over wall time (100 = one core)")
            if modes.contains(.aio) {
                print("aio: glibc runs each aio_read as a pread64 on a helper thread; those are not in 'syscalls'")
            }
        }
    }

    private func runMode(_ m: BenchMode, _ ctx: BenchContext, run: Int) throws(BenchError) -> RunSample {
        switch m {
        case .uring, .uringFixed, .uringFixedFile, .uringSQPoll: return try runUring(ctx, mode: m, run: run)
        case .sync: return try runSync(ctx, run: run)
        case .threads: return try runThreads(ctx, run: run)
        case .aio: return try runAIO(ctx, run: run)
        case .pwrite, .uringWrite, .uringWriteFixed: preconditionFailure("a write mode in the read drill")
        }
    }

    /// `modes` without the io_uring ones when io_uring_setup is refused
    /// here (one notice says so).
    static func available(_ modes: [BenchMode]) -> [BenchMode] {
        let refusal = Ring.probe()
        guard refusal != 0 else { return modes }
        let skipped = modes.filter(\.needsIOUring)
        if !skipped.isEmpty {
            notice(IOBackends.fallbackNotice(IOError(operation: "io_uring_setup", errno: refusal))
                   + "; skipping " + skipped.map(\.rawValue).joined(separator: ", "))
        }
        return modes.filter { !$0.needsIOUring }
    }

    private func runWriteDrill() throws {
        let drill = WriteDrill(path: file == "/tmp/iobench-pattern.dat" ? "/tmp/iobench-writes.dat" : file,
                               count: reads, blockBytes: blockSize, batch: batch, sync: sync, direct: direct)
        let modes = IOBench.available(mode.modes(write: true))
        if !json {
            print("iobench --write: \(reads) appends of \(blockSize) B, \(batch) per submission, "
                  + "\(direct ? "O_DIRECT" : "buffered"), \(sync ? "fdatasync per batch" : "no sync"), "
                  + "file \(drill.path), \(repeatCount) run(s) per mode")
        }
        var samples: [BenchMode: [RunSample]] = [:]
        for run in 1...repeatCount {
            for m in modes {
                let sample = try drill.run(m, run: run)
                samples[m, default: []].append(sample)
                if json {
                    let config: [(String, String)] = [
                        ("drill", Report.quoted("write")), ("writes", String(reads)), ("block_size", String(blockSize)),
                        ("batch", String(batch)), ("sync", String(sync)), ("direct", String(direct)),
                        ("context_switches", String(sample.measurement.contextSwitches)),
                    ]
                    print(Report.json(sample, config: config, reads: reads, blockSizeBytes: blockSize))
                }
            }
        }
        try? FileSystem.remove(drill.path)
        if !json {
            print(WriteDrill.table(modes.map { ModeSummary(mode: $0, runs: samples[$0] ?? [], reads: reads,
                                                           blockSizeBytes: blockSize) }))
            print("every write read back and verified; CPU and context switches are the whole process's "
                  + "(io_uring's io-wq worker threads included)")
        }
    }
}

/// Progress and notices go to stderr so --json output stays clean.
private func notice(_ text: String) {
    IOBackends.printNotice(text)
}
