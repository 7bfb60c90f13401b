// no-io-uring: runs a command where io_uring_setup fails with EPERM, the
// way Docker's default seccomp profile and `kernel.io_uring_disabled=2`
// refuse it — without changing anything for other processes on the
// machine. Shows (and lets the tests check) that kvctl, kvbench and the
// engine fall back to plain syscalls with one notice and keep working.
//
// usage: no-io-uring COMMAND [ARGUMENTS...]
import CRingSupport
import Glibc

func fail(_ message: String, status: Int32) -> Never {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    fail("usage: no-io-uring COMMAND [ARGUMENTS...]", status: 2)
}
let rc = rk_deny_io_uring_setup()
if rc != 0 {
    fail("no-io-uring: installing the seccomp filter failed: \(String(cString: strerror(-rc)))", status: 1)
}
var argv = arguments.dropFirst().map { strdup($0) } + [nil]
execvp(arguments[1], &argv)
fail("no-io-uring: cannot run \(arguments[1]): \(String(cString: strerror(errno)))", status: 127)
