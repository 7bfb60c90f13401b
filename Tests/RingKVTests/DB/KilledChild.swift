import Glibc
import Testing

/// The kill -9 tests' child process: `exe` with `arguments` (and the
/// parent's environment plus `extraEnvironment`) runs with its stdout on a
/// pipe for `micros`, is SIGKILLed, and what it printed is returned.
func runChildUntilKilled(_ exe: String, _ arguments: [String], extraEnvironment: [String] = [],
                         killAfterMicros micros: UInt32) -> String {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    var cArgs = ([exe] + arguments).map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    var environment: [UnsafeMutablePointer<CChar>?] = []
    var e = environ
    while let entry = e.pointee {
        environment.append(strdup(entry))
        e += 1
    }
    for entry in extraEnvironment { environment.append(strdup(entry)) }
    environment.append(nil)
    defer { environment.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, exe, &actions, nil, &cArgs, &environment)
    posix_spawn_file_actions_destroy(&actions)
    close(fds[1])
    #expect(rc == 0, "posix_spawn failed: \(rc)")
    usleep(micros)
    kill(pid, SIGKILL)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fds[0], &chunk, chunk.count)
        if n <= 0 { break }
        output.append(contentsOf: chunk[0..<n])
    }
    close(fds[0])
    return String(decoding: output, as: UTF8.self)
}
