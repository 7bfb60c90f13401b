import RingIO
import RingKV

/// kvctl's exit codes (also in `kvctl --help` and README.md).
enum ExitStatus: Int32 {
    case ok = 0
    /// `get`: the key is absent.
    case notFound = 1
    /// Stored data is damaged (`verify` found corruption, or a command
    /// read a damaged file).
    case corruption = 2
    /// The command line is wrong: unknown command or option, missing or
    /// malformed argument, invalid escape or hex in an argument.
    case usage = 3
    /// Anything else: missing database, locked database, I/O or permission
    /// error, a rejected key or value, a bad line in `load` input.
    case failure = 4
    /// `txn`: the transaction conflicted with another writer; nothing
    /// was written.
    case conflict = 5
}

/// A failure kvctl reports as one line on stderr, with its exit code.
struct CLIError: Error {
    var message: String
    var status: ExitStatus

    static func usage(_ message: String) -> CLIError { CLIError(message: message, status: .usage) }
    static func failure(_ message: String) -> CLIError { CLIError(message: message, status: .failure) }
}

extension CLIError {

    /// The one-line, actionable form of an engine error.
    init(_ error: DBError) {
        switch error {
        case .databaseNotFound(let path):
            self.init(message: "no database at \(path) (pass --create to create one)", status: .failure)
        case .locked(let path):
            self.init(message: "database is locked: \(path) (another process or handle holds \(path)/LOCK)",
                      status: .failure)
        case .corruption(let path, let offset, let reason):
            self.init(message: "corruption in \(path) at offset \(offset): \(reason) (run kvctl verify for a full report)",
                      status: .corruption)
        case .io(let e):
            var message = e.description
            // io_uring's EPERM (seccomp, kernel.io_uring_disabled) is not
            // about the file; the engine falls back to plain syscalls there.
            if [.permissionDenied, .notPermitted, .readOnlyFileSystem].contains(e.code) && e.ioPath == .posix {
                message += " (check the permissions of \(e.path ?? "the database directory"))"
            }
            self.init(message: message, status: .failure)
        default:
            self.init(message: error.description, status: .failure)
        }
    }

    /// Any error a command throws, as kvctl reports it.
    static func from(_ error: any Error) -> CLIError {
        switch error {
        case let e as CLIError: return e
        case let e as DBError: return CLIError(e)
        case let e as IOError: return CLIError(DBError.io(e))
        default: return .failure("\(error)")
        }
    }
}
