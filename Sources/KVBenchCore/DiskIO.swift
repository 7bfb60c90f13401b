import Glibc

/// Bytes the block device holding a path has written so far, every
/// process's (`/proc/diskstats`, sectors written × 512): what reached the
/// device, unlike `/proc/self/io`'s `write_bytes` (`ProcessIO`), which
/// counts page-cache pages as this process dirties them, a whole folio at
/// a time — a 1 KB write into a clean 1 MiB folio counts 1 MiB (the WAL's
/// zero fill ahead of synced groups writes 1 MiB at once, so the kernel
/// caches that range in large folios, and every synced group re-dirties
/// one after its fdatasync cleaned it). Attributable to the run only when
/// nothing else writes to the device meanwhile.
public struct DiskIO: Sendable {
    /// The device's name in /proc/diskstats ("vda", "nvme0n1p2").
    public var device: String
    public var writtenBytes: UInt64

    public init(device: String, writtenBytes: UInt64) {
        self.device = device
        self.writtenBytes = writtenBytes
    }

    /// The counters of the device that holds `path` (or its nearest
    /// existing ancestor); nil when it cannot be found (no /proc/diskstats,
    /// a file system without a block device: tmpfs, overlay).
    public static func current(holding path: String) -> DiskIO? {
        var candidate = path.isEmpty ? "." : path
        var info = stat()
        while stat(candidate, &info) != 0 {
            guard let slash = candidate.lastIndex(of: "/") else {
                candidate = "."
                guard stat(candidate, &info) == 0 else { return nil }
                break
            }
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
        let dev = UInt64(info.st_dev)
        // Linux's encoding of dev_t (gnu_dev_major / gnu_dev_minor).
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        guard let text = ProcessIO.readSmallFile("/proc/diskstats", capacity: 1 << 16) else { return nil }
        for line in text.split(separator: "\n") {
            // major minor name reads merged sectors ms writes merged sectors-written ...
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 10, UInt64(fields[0]) == major, UInt64(fields[1]) == minor,
                  let sectors = UInt64(fields[9]) else { continue }
            return DiskIO(device: String(fields[2]), writtenBytes: sectors &* 512)
        }
        return nil
    }
}
