#if canImport(Glibc)
import Glibc
#endif
import CRingSupport
import RingIO

/// The write drill (`iobench --write`): N appends of `blockSize` bytes to a
/// fresh, preallocated file — what the WAL does — issued `batch` at a time
/// through pwrite(2), an io_uring write, or an io_uring write_fixed from a
/// registered buffer; with `--sync` each batch ends with fdatasync (for
/// io_uring in the same io_uring_enter: linked to a single write, drained
/// behind several). Buffered by default (the WAL's page-cache writes);
/// `--direct` opens the file O_DIRECT. It re-measures the WAL's choice
/// (docs/ARCHITECTURE.md §Write path): buffered io_uring writes are
/// punted to io-wq worker threads on ext4 — a context switch pair per
/// write — where pwrite copies into the page cache and returns.
struct WriteDrill {
    let path: String
    let count: Int
    let blockBytes: Int
    let batch: Int
    let sync: Bool
    let direct: Bool

    /// One run of one mode, with the context switches it cost.
    func run(_ mode: BenchMode, run: Int) throws(BenchError) -> RunSample {
        let file: File
        do {
            file = try File.open(path, [.readWrite, .create, .truncate], direct: direct ? .required : .off)
            // Preallocated like the WAL, so no write extends the file.
            try PosixBackend().preallocate(fd: file.fd, offset: 0, length: UInt64(count * blockBytes))
            try PosixBackend().sync(fd: file.fd, dataOnly: false)
        } catch {
            throw BenchError.io("\(mode.rawValue): \(error)")
        }
        defer { try? file.close() }
        let buffer = AlignedBuffer(capacity: batch * blockBytes)
        for i in 0..<(batch * blockBytes) { buffer.pointer.storeBytes(of: WriteDrill.byte(i % blockBytes, run: run), toByteOffset: i, as: UInt8.self) }
        let sample = try mode == .pwrite
            ? runPwrite(file.fd, buffer.pointer, run: run)
            : runUring(file.fd, buffer.pointer, fixed: mode == .uringWriteFixed, mode: mode, run: run)
        try verify(file.fd, run: run, mode: mode)
        return sample
    }

    /// The byte at `offset` of every written block in run `run`.
    static func byte(_ offset: Int, run: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 31 &+ run &* 7 &+ 1) }

    private func runPwrite(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, run: Int) throws(BenchError) -> RunSample {
        var calls = 0
        var failure: String?
        let measurement = measure {
            var offset = 0
            while offset < count * blockBytes && failure == nil {
                let n = min(batch, count - offset / blockBytes)
                for j in 0..<n {
                    calls += 1
                    let written = pwrite(fd, buffer + j * blockBytes, blockBytes, off_t(offset))
                    if written != blockBytes { failure = "pwrite returned \(written), errno \(rk_errno())" }
                    offset += blockBytes
                }
                if sync {
                    calls += 1
                    if fdatasync(fd) != 0 { failure = "fdatasync failed, errno \(rk_errno())" }
                }
            }
        }
        if let failure { throw BenchError.io("pwrite: \(failure)") }
        return RunSample(mode: .pwrite, run: run, measurement: measurement, calls: calls)
    }

    private func runUring(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, fixed: Bool, mode: BenchMode,
                          run: Int) throws(BenchError) -> RunSample {
        let ring: Ring
        do {
            ring = try Ring(entries: max(batch + 1, 8))
            if fixed {
                try ring.registerBuffers([UnsafeMutableRawBufferPointer(start: buffer, count: batch * blockBytes)])
            }
        } catch {
            throw BenchError.io("\(mode.rawValue): \(error)")
        }
        let callsBefore = ring.submitCalls
        var failure: String?
        let measurement: Measurement
        do {
            measurement = try measure { () throws(IOError) in
                var offset = 0
                while offset < count * blockBytes && failure == nil {
                    let n = min(batch, count - offset / blockBytes)
                    for j in 0..<n {
                        // One write linked to its fdatasync (the WAL's synced
                        // group); several: the fdatasync drains behind them.
                        let flags: SQEFlags = sync && n == 1 ? .link : []
                        let target = buffer + j * blockBytes
                        let ok = fixed
                            ? ring.prepWriteFixed(fd: fd, buffer: target, length: blockBytes,
                                                  offset: UInt64(offset + j * blockBytes), bufferIndex: 0,
                                                  userData: UInt64(j), flags: flags)
                            : ring.prepWrite(fd: fd, buffer: target, length: blockBytes,
                                             offset: UInt64(offset + j * blockBytes), userData: UInt64(j), flags: flags)
                        precondition(ok, "write drill ring full")
                    }
                    if sync {
                        precondition(ring.prepFsync(fd: fd, dataOnly: true, userData: UInt64.max,
                                                    flags: n == 1 ? [] : .drain), "write drill ring full")
                    }
                    let expected = n + (sync ? 1 : 0)
                    try ring.submitAndWait(expected)
                    var seen = 0
                    while seen < expected {
                        seen += ring.harvest { c in
                            let want = c.userData == UInt64.max ? 0 : Int32(blockBytes)
                            if c.result != want && failure == nil { failure = "completion \(c.userData): \(c.result)" }
                        }
                        if seen < expected { try ring.waitForCompletion() }
                    }
                    offset += n * blockBytes
                }
            }
        } catch {
            throw BenchError.io("\(mode.rawValue): \(error)")
        }
        if let failure { throw BenchError.io("\(mode.rawValue): \(failure)") }
        return RunSample(mode: mode, run: run, measurement: measurement, calls: ring.submitCalls - callsBefore)
    }

    /// Reads the file back (not timed) and checks every block.
    private func verify(_ fd: Int32, run: Int, mode: BenchMode) throws(BenchError) {
        let back = AlignedBuffer(capacity: blockBytes)
        for i in 0..<count {
            let n = pread(fd, back.pointer, blockBytes, off_t(i * blockBytes))
            guard n == blockBytes else { throw BenchError.io("\(mode.rawValue): reading block \(i) back: \(n)") }
            for k in 0..<blockBytes where back.pointer.load(fromByteOffset: k, as: UInt8.self) != WriteDrill.byte(k, run: run) {
                throw BenchError.io("\(mode.rawValue): block \(i) holds wrong bytes at \(k)")
            }
        }
    }

    /// The table of the write drill: per mode the median run.
    static func table(_ summaries: [ModeSummary]) -> String {
        let columns = ["mode", "writes", "wall med ms", "us/write", "CPU us/write", "ctx sw/write", "syscalls"]
        var rows: [[String]] = [columns]
        for s in summaries {
            let m = s.median.measurement
            let writes = Double(max(s.reads, 1))
            rows.append([
                s.mode.rawValue, String(s.reads), Report.fixed(Double(m.wallNanos) / 1e6, 2),
                Report.fixed(Double(m.wallNanos) / 1e3 / writes, 2), Report.fixed(Double(m.cpuMicros) / writes, 2),
                Report.fixed(Double(m.contextSwitches) / writes, 2), String(s.median.calls),
            ])
        }
        let widths = columns.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - row[c].count)
                return c == 0 ? row[c] + pad : pad + row[c]
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}
