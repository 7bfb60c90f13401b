import ArgumentParser
import Logging
import RingIO
import RingKV

/// `kvctl --db PATH <command>`: the root command. Its options are global;
/// subcommands read them through `@ParentCommand`.
struct KVCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvctl",
        abstract: "Read, write, load, export, inspect and verify a RingKV database.",
        discussion: """
            Keys and values are bytes. On output, printable ASCII stands for itself; \\\\ is a \
            backslash, \\t a tab, \\n a newline, and any other byte is \\xNN. Input (arguments and \
            load files) accepts the same escapes plus raw bytes. --hex switches both directions to \
            plain hex (two digits per byte). Arguments that are not valid UTF-8 are read as raw \
            bytes. The empty key is allowed, as in LevelDB. A key starting with '-' goes after --.

            Exit codes:
              0  success
              1  not found (get)
              2  corruption (verify found damage, or a command read a damaged file)
              3  usage error (unknown command or option, bad escape or hex in an argument)
              4  any other error (no database, database locked, I/O or permission error,
                 value over 64 MiB, bad line in load input)
              5  txn: conflict with another writer (nothing written)

            Examples:
              kvctl --db /tmp/db --create put user1 'hello world'
              kvctl --db /tmp/db get user1
              kvctl --db /tmp/db scan --prefix user --limit 10
              kvctl --db /tmp/db export > dump.tsv
              kvctl --db /tmp/copy --create load dump.tsv
              kvctl --db /tmp/db verify
              kvctl dump-sst /tmp/db/000005.sst --blocks
            """,
        subcommands: [
            Put.self, Get.self, Delete.self, DeleteRange.self, Scan.self, Load.self, Export.self,
            Stats.self, Compact.self, Flush.self, Checkpoint.self, Verify.self, DumpWAL.self, DumpSST.self,
            KeyspaceCommand.self, Merge.self, Txn.self, Changes.self, BackupCommand.self,
        ])

    @Option(help: ArgumentHelp("The database directory.", valueName: "PATH"))
    var db: String?

    @Flag(help: "Create the database when it does not exist (Options.createIfMissing).")
    var create = false

    @Flag(help: "Keys and values are hex in input and output, instead of \\xNN escapes.")
    var hex = false

    @Flag(name: .customLong("counter-merge"),
          help: ArgumentHelp("Open with CounterMerge as the merge operator (Int64 sums; `merge` always does). "
                             + "Only for databases whose operands CounterMerge wrote: one that stores "
                             + "another operator's name refuses it."))
    var counterMerge = false

    @Flag(help: "Log what the engine does (open, recovery, flushes, compactions, stalls) to stderr.")
    var verbose = false

    /// `kvctl` with no command: a usage error that points at the help.
    func run() throws {
        throw ValidationError("missing command; see kvctl --help")
    }

    // MARK: - Running

    /// Parses `arguments`, runs the command and returns the exit code.
    static func runMain(_ arguments: [String]) -> Int32 {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            return reportParserError(error)
        }
        do {
            try command.run()
            return ExitStatus.ok.rawValue
        } catch let error where error is CLIError || error is DBError || error is IOError {
            let failure = CLIError.from(error)
            StandardStreams.error("kvctl: " + failure.message)
            return failure.status.rawValue
        } catch {
            return reportParserError(error)
        }
    }

    /// Help requests go to stdout with status 0; parser and validation
    /// errors are usage errors (status 3); anything else is status 4.
    private static func reportParserError(_ error: any Error) -> Int32 {
        let message = fullMessage(for: error)
        let code = exitCode(for: error)
        if code == .success {
            if !message.isEmpty { print(message) }
            return ExitStatus.ok.rawValue
        }
        StandardStreams.error(message)
        return code == .validationFailure ? ExitStatus.usage.rawValue : ExitStatus.failure.rawValue
    }

    // MARK: - Helpers for subcommands

    /// WAL growth step for databases kvctl opens. A kvctl run writes little
    /// and exits, and the next open reads the whole preallocated log back
    /// during recovery; the engine's 64 MiB default (sized for long-lived
    /// writers) would make every following command read 64 MiB. A load
    /// still grows the log in 1 MiB fallocate steps.
    static let walPreallocateBytes: UInt64 = 1 << 20

    var text: ByteText { ByteText(hex: hex) }

    /// The --db path, checked.
    func databasePath() throws -> String {
        guard let db, !db.isEmpty else { throw CLIError.usage("--db PATH is required for this command") }
        try RawArguments.checkPath(db, option: "--db")
        return db
    }

    /// Opens the database (creating it with --create). Never waits for a
    /// lock: a held LOCK fails at once. `readOnly` (get, scan, export):
    /// opened with `Options.readOnly` — nothing is written, so it works on
    /// a full disk, and beside other readers — unless --create has to
    /// create the database first.
    func openDatabase(readOnly: Bool = false, counterMerge forced: Bool = false) throws -> DB {
        var options = Options()
        // Without it a read of a merged key fails with a clear error, and
        // flush and compaction copy operands unchanged (MergeCommand.swift).
        if counterMerge || forced { options.mergeOperator = CounterMerge() }
        options.createIfMissing = create
        options.walPreallocateBytes = KVCtl.walPreallocateBytes
        if verbose {
            options.logger = Logger(label: "kvctl") { StreamLogHandler.standardError(label: $0) }
            options.logger.logLevel = .info
        }
        let path = try databasePath()
        if readOnly && !(create && !FileSystem.exists(path + "/CURRENT")) {
            options.readOnly = true
            options.createIfMissing = false
        }
        do {
            return try DB(path: path, options: options)
        } catch let error as DBError {
            throw CLIError(error)
        }
    }

    /// A KEY/VALUE/--from-style argument as bytes; a bad escape or bad hex
    /// is a usage error naming the argument.
    func bytes(_ argument: String, _ what: String) throws -> [UInt8] {
        do {
            return try text.parse(argument)
        } catch {
            throw CLIError.usage("\(what) \"\(argument)\": \(error.reason) at byte \(error.position)")
        }
    }
}
