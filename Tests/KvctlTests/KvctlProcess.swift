import Glibc
import RingIO
import Testing

/// What one run of the kvctl binary did.
struct KvctlRun {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]
    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
}

enum Kvctl {
    /// The built `kvctl`: the nearest directory at or above the test
    /// bundle's that holds one (swift test runs
    /// .build/<triple>/debug/RingKVPackageTests.xctest next to it).
    static let path: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        var dir = FileSystem.parentDirectory(of: exe)
        while !dir.isEmpty && dir != "/" && !FileSystem.exists(dir + "/kvctl") {
            dir = FileSystem.parentDirectory(of: dir)
        }
        return dir + "/kvctl"
    }()

    /// A child that runs longer than this is killed and the test fails:
    /// kvctl must never hang (on a lock, on input).
    static let timeoutSeconds = 120

    static func run(_ arguments: [String], stdin: [UInt8]? = nil) throws -> KvctlRun {
        try run(raw: arguments.map { Array($0.utf8) }, stdin: stdin)
    }

    /// Runs `kvctl` with raw argument bytes (no UTF-8 requirement).
    static func run(raw arguments: [[UInt8]], stdin: [UInt8]? = nil, via launcher: [String] = []) throws -> KvctlRun {
        let argv = launcher.map { Array($0.utf8) } + [Array(path.utf8)] + arguments
        return try spawn(argv, stdin: stdin ?? [])
    }

    // MARK: - posix_spawn with three channels (stdin, stdout, stderr)

    /// A one-way channel: a socket pair created close-on-exec atomically
    /// (Glibc does not export pipe2 to Swift). Tests spawn children
    /// concurrently; an end leaking into another child would keep this
    /// channel's EOF from arriving.
    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw IOError(operation: "socketpair", errno: errno)
        }
        shutdown(fds[0], Int32(SHUT_WR))
        shutdown(fds[1], Int32(SHUT_RD))
        return (fds[0], fds[1])
    }

    private static func spawn(_ argv: [[UInt8]], stdin input: [UInt8]) throws -> KvctlRun {
        // A child that exits before reading all of stdin must not kill the
        // test process with SIGPIPE; the child gets the default back below.
        signal(SIGPIPE, SIG_IGN)
        let inPipe = try makePipe(), outPipe = try makePipe(), errPipe = try makePipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe.write, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { bytes in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
            p[bytes.count] = 0
            return p
        } + [nil]
        defer { cArgs.forEach { $0?.deallocate() } }
        var pid: pid_t = 0
        let rc = cArgs[0].map { posix_spawn(&pid, $0, &actions, &attributes, &cArgs, environ) } ?? EINVAL
        close(inPipe.read)
        close(outPipe.write)
        close(errPipe.write)
        guard rc == 0 else {
            close(inPipe.write); close(outPipe.read); close(errPipe.read)
            throw IOError(operation: "posix_spawn", errno: rc, path: String(decoding: argv[0], as: UTF8.self))
        }
        let flags = fcntl(inPipe.write, F_GETFL)
        _ = fcntl(inPipe.write, F_SETFL, flags | O_NONBLOCK)

        var stdout: [UInt8] = [], stderr: [UInt8] = []
        var outFD = outPipe.read, errFD = errPipe.read, inFD = inPipe.write
        var written = 0
        if input.isEmpty { close(inFD); inFD = -1 }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let started = ContinuousClock.now
        var timedOut = false

        /// One read from `fd`; closes it (and sets it to -1) at EOF or on error.
        func drain(_ fd: inout Int32, into sink: inout [UInt8]) {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { sink += chunk[0..<n]; return }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
            close(fd)
            fd = -1
        }

        while outFD >= 0 || errFD >= 0 || inFD >= 0 {
            var polls = [pollfd(fd: outFD, events: Int16(POLLIN), revents: 0),
                         pollfd(fd: errFD, events: Int16(POLLIN), revents: 0),
                         pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)]
            let ready = poll(&polls, nfds_t(polls.count), 200)
            if ContinuousClock.now - started > .seconds(timeoutSeconds) {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            if ready <= 0 { continue }
            if polls[0].revents != 0 { drain(&outFD, into: &stdout) }
            if polls[1].revents != 0 { drain(&errFD, into: &stderr) }
            if polls[2].revents != 0 {
                let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + written, min($0.count - written, 1 << 16)) }
                if n > 0 { written += n }
                if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                    close(inFD)
                    inFD = -1
                }
            }
        }
        for fd in [outFD, errFD, inFD] where fd >= 0 { close(fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(!timedOut, "kvctl \(argv.dropFirst().map { String(decoding: $0, as: UTF8.self) }) ran over \(timeoutSeconds) s")
        // Exited: (status >> 8) & 0xff; killed by a signal: 128 + signal.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return KvctlRun(status: code, stdout: stdout, stderr: stderr)
    }
}
