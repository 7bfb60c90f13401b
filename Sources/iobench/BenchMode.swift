import ArgumentParser

/// One way of issuing the reads. Every mode reads the same offsets into the
/// same buffer slots, so results are comparable and verifiable.
enum BenchMode: String, CaseIterable, Sendable {
    /// All N reads prepared and submitted in one batch, then harvested.
    case uring
    /// As `uring`, with the destination buffer and the file registered
    /// (read_fixed + IOSQE_FIXED_FILE).
    case uringFixed = "uring-fixed"
    /// As `uring`, with only the file registered (IOSQE_FIXED_FILE, plain
    /// read): isolates what a registered file saves (the kernel's
    /// fget/fput of the descriptor per request).
    case uringFixedFile = "uring-fixed-file"
    /// As `uring`, with a kernel SQ polling thread doing the submission.
    case uringSQPoll = "uring-sqpoll"
    /// One pread after another on one thread.
    case sync
    /// A pool of threads, each doing pread over its share of the reads.
    case threads
    /// glibc POSIX aio: aio_read for every read, then aio_suspend.
    case aio

    /// What the `syscalls` column counts for this mode.
    var countedCalls: String {
        switch self {
        case .uring, .uringFixed, .uringFixedFile, .uringSQPoll: return "io_uring_enter"
        case .sync, .threads: return "pread"
        case .aio: return "aio_read+aio_suspend"
        }
    }
}

/// The value of `--mode`: one mode or all of them.
enum ModeSelection: ExpressibleByArgument, Sendable {
    case all
    case one(BenchMode)

    init?(argument: String) {
        if argument == "all" {
            self = .all
        } else if let mode = BenchMode(rawValue: argument) {
            self = .one(mode)
        } else {
            return nil
        }
    }

    /// Every accepted value, for the help text and completion.
    static var allValueStrings: [String] { ["all"] + BenchMode.allCases.map(\.rawValue) }

    var defaultValueDescription: String {
        switch self {
        case .all: return "all"
        case .one(let mode): return mode.rawValue
        }
    }

    var modes: [BenchMode] {
        switch self {
        case .all: return BenchMode.allCases
        case .one(let mode): return [mode]
        }
    }
}
