#if canImport(Glibc)
import Glibc
#endif
@_exported import RingIO

/// Helpers every test target shares (each target re-exports this module
/// from its own TestSupport.swift): a temporary directory, the replayable
/// seed, byte strings, and the path of a built executable.

/// A temporary directory removed when the value goes away.
public final class TempDir {
    public let path: String
    public init(_ prefix: String = "ringkv-test") throws {
        path = try FileSystem.makeTemporaryDirectory(prefix: prefix)
    }
    deinit { try? FileSystem.removeTree(path) }
    public func sub(_ name: String) -> String { path + "/" + name }
}

/// A seeded generator (RingIO's SplitMix64) so randomized tests can be replayed.
public typealias SeededRandom = SplitMix64

/// The seed for a randomized test: $RINGKV_SEED when set, else a fresh one.
/// Tests put it in failure messages so a failure can be replayed.
public func testSeed() -> UInt64 {
    if let raw = getenv("RINGKV_SEED"), let seed = UInt64(String(cString: raw)) { return seed }
    var rng = SystemRandomNumberGenerator()
    return rng.next()
}

public func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Path of an executable product built next to the test bundle.
public func builtProduct(_ name: String) -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    var dir = FileSystem.parentDirectory(of: exe)
    // swift test runs .build/<triple>/debug/RingKVPackageTests.xctest
    while !dir.isEmpty && dir != "/" && !FileSystem.exists(dir + "/" + name) {
        dir = FileSystem.parentDirectory(of: dir)
    }
    return dir + "/" + name
}

/// The whole content of the file at `path`.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let file = try File.open(path, .read)
    defer { try? file.close() }
    var data = [UInt8](repeating: 0, count: Int(try file.size()))
    let n = try data.withUnsafeMutableBytes { try PosixBackend().read(fd: file.fd, into: $0, offset: 0) }
    return Array(data.prefix(n))
}

/// Replaces the file at `path` with `data` (creating it).
public func writeWholeFile(_ path: String, _ data: [UInt8]) throws {
    let file = try File.open(path, [.write, .create, .truncate])
    defer { try? file.close() }
    try data.withUnsafeBytes { try PosixBackend().write(fd: file.fd, from: $0, offset: 0) }
}

/// Copies every file of a closed database directory (not LOCK) into `to`,
/// which is created; subdirectories (lost/) are copied too.
public func copyDatabaseFiles(from: String, to: String) throws {
    try FileSystem.createDirectory(to)
    for name in try FileSystem.listDirectory(from) where name != "LOCK" {
        if FileSystem.isDirectory(from + "/" + name) {
            try copyDatabaseFiles(from: from + "/" + name, to: to + "/" + name)
        } else {
            try writeWholeFile(to + "/" + name, try readWholeFile(from + "/" + name))
        }
    }
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it:
/// true when it returned in time. A test of code that could hang asserts
/// on this instead of hanging the suite (a body that never returns is left
/// blocked on its detached thread until the process exits).
public func completes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let finished = Locked(false)
    final class Job {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    let job = Unmanaged.passRetained(Job {
        body()
        finished.withLock { $0 = true }
    })
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, job.toOpaque())
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_detach(thread)
    var start = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    while true {
        if finished.withLock({ $0 }) { return true }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        if Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9 > seconds { return false }
        usleep(1000)
    }
}
