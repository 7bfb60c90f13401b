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
    // The write drill (`--write`, WriteDrill.swift): appends.
    /// pwrite(2), one call per write.
    case pwrite
    /// io_uring write SQEs, `--batch` per io_uring_enter.
    case uringWrite = "uring-write"
    /// io_uring write_fixed from a registered buffer.
    case uringWriteFixed = "uring-write-fixed"

    var isWrite: Bool { self == .pwrite || self == .uringWrite || self == .uringWriteFixed }

    /// Whether the mode needs io_uring (skipped, with a notice, where
    /// io_uring_setup is refused).
    var needsIOUring: Bool {
        switch self {
        case .uring, .uringFixed, .uringFixedFile, .uringSQPoll, .uringWrite, .uringWriteFixed: return true
        case .sync, .threads, .aio, .pwrite: return false
        }
    }

    /// What the `syscalls` column counts for this mode.
    var countedCalls: String {
        switch self {
        case .uring, .uringFixed, .uringFixedFile, .uringSQPoll, .uringWrite, .uringWriteFixed: return "io_uring_enter"
        case .sync, .threads: return "pread"
        case .aio: return "aio_read+aio_suspend"
        case .pwrite: return "pwrite+fdatasync"
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

    /// The modes of the read drill, or of the write drill with `write`.
    func modes(write: Bool) -> [BenchMode] {
        switch self {
        case .all: return BenchMode.allCases.filter { $0.isWrite == write }
        case .one(let mode): return [mode]
        }
    }
}
