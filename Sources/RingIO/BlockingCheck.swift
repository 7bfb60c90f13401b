/// The rule of the async API, checked in debug builds: no task waits on a
/// blocking call — no file I/O system call, no io_uring wait, no condition
/// or futex wait, no thread join. A cooperative thread that blocks is one
/// of the (one per core) threads every task shares.
///
/// The places that block call `willBlock(_:)`: RingIO's `syscall` wrapper,
/// `Ring`'s waits and `WaitWord.wait`; RingKV's `Monitor` waits and
/// `BackgroundThread.join`. A test binds a `Recorder` to
/// `BlockingCheck.recorder` around the async calls it checks (child tasks
/// inherit the binding); every blocking call made by those tasks
/// themselves is recorded. Work the engine hands to its own OS threads is
/// not a task, so it is not recorded. Release builds compile the check
/// away; unbound, it costs a task-local lookup at each blocking call.
package enum BlockingCheck {
    /// The blocking calls made by the tasks it is bound to, by site.
    package final class Recorder: Sendable {
        private let sites = Locked<[String]>([])

        package init() {}

        /// Every site recorded so far, in order.
        package var recorded: [String] { sites.withLock { $0 } }

        func record(_ site: String) { sites.withLock { $0.append(site) } }
    }

    /// Bound by a test around the calls it checks; nil otherwise.
    @TaskLocal package static var recorder: Recorder?

    /// Called right before a call that may put the thread to sleep.
    @inline(__always)
    package static func willBlock(_ site: @autoclosure () -> String) {
        #if DEBUG
        if let recorder { recorder.record(site()) }
        #endif
    }
}
