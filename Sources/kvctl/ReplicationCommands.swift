import ArgumentParser
import RingKV

/// `kvctl changes --since N` (the change feed's backlog, binary-safe) and
/// `kvctl backup create|list|verify|restore|delete` (docs/REPLICATION.md).
struct Changes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the committed changes after sequence N (the change feed's backlog).",
        discussion: """
            One line per change: sequence, operation (put, delete, delete-range, merge), keyspace, \
            key and, for put/merge, the value (for delete-range, the end), tab-separated. Keys and \
            values are escaped as \\xNN (tabs, newlines, backslashes and non-printable bytes \
            included), or hex with --hex. Reads what the WAL files kept for feeds hold \
            (Options.changeRetentionBytes); the database is opened read-only.

            Examples:
              kvctl --db /tmp/db changes --since 0
              kvctl --db /tmp/db --hex changes --since 1200 --limit 10
            """)

    @ParentCommand var global: KVCtl
    @Option(help: ArgumentHelp("Print batches whose first sequence is above N.", valueName: "N")) var since: UInt64 = 0
    @Option(help: ArgumentHelp("Stop after N batches.", valueName: "N")) var limit: Int = Int.max

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be >= 1") }
    }

    func run() throws {
        let db = try global.openDatabase(readOnly: true)
        defer { try? db.close() }
        let batches: [CommittedBatch]
        do { batches = try db.changesBacklog(since: since, maxBatches: limit) } catch let e as DBError {
            throw CLIError(e)
        }
        let out = StandardOutput()
        let text = global.text
        for batch in batches {
            for (i, change) in batch.changes.enumerated() {
                var fields = [String(batch.sequence + UInt64(i))]
                switch change {
                case .put(let keyspace, let key, let value):
                    fields += ["put", keyspace, text.render(key), text.render(value)]
                case .delete(let keyspace, let key):
                    fields += ["delete", keyspace, text.render(key)]
                case .deleteRange(let keyspace, let from, let to):
                    fields += ["delete-range", keyspace, text.render(from), text.render(to)]
                case .merge(let keyspace, let key, let operand):
                    fields += ["merge", keyspace, text.render(key), text.render(operand)]
                }
                try out.line(fields.joined(separator: "\t"))
            }
        }
        try out.flush()
    }
}

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Create, list, verify, restore or delete incremental backups.",
        discussion: """
            A backup directory holds the backups of one database: its tables once each (shared/), \
            each backup's MANIFEST, CURRENT and WAL files (private/ID/) and a meta file (meta/ID).

            Examples:
              kvctl --db /tmp/db backup create /backups/db
              kvctl backup list /backups/db
              kvctl backup verify /backups/db 2
              kvctl backup restore /backups/db 2 /tmp/restored
              kvctl backup delete /backups/db 1
            """,
        subcommands: [Create.self, List.self, Verify.self, Restore.self, Delete.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back the database (--db) up into DIR; prints the new backup's id, sequence and bytes copied.")
        @ParentCommand var global: KVCtl
        @Argument(help: "The backup directory (created when missing).") var directory: String

        func run() throws {
            // Read-only: nothing of the database is changed or swept.
            let db = try global.openDatabase(readOnly: true)
            defer { try? db.close() }
            let info = try db.backup(to: directory)
            let out = StandardOutput()
            try out.line("backup \(info.id) sequence \(info.sequence) copied \(info.bytesCopied) of \(info.totalBytes) bytes")
            try out.flush()
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups in DIR: id, sequence, bytes.")
        @Argument(help: "The backup directory.") var directory: String

        func run() throws {
            let out = StandardOutput()
            for info in try DB.backups(in: directory) {
                try out.line("\(info.id)\tsequence \(info.sequence)\ttotal \(info.totalBytes)\tcopied \(info.bytesCopied)")
            }
            try out.flush()
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-read every file of backup ID; a damaged one is named and the exit status is non-zero.")
        @Argument(help: "The backup directory.") var directory: String
        @Argument(help: "The backup's id.") var id: UInt64

        func run() throws {
            try DB.verifyBackup(in: directory, id: id)
            let out = StandardOutput()
            try out.line("backup \(id): ok")
            try out.flush()
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore backup ID as a new database at TARGET (verified first).")
        @Argument(help: "The backup directory.") var directory: String
        @Argument(help: "The backup's id.") var id: UInt64
        @Argument(help: "Where the database goes (must not exist unless --overwrite).") var target: String
        @Flag(help: "Replace an existing (closed) database or an empty directory at TARGET; any other directory is refused.")
        var overwrite = false

        func run() throws {
            try DB.restore(from: directory, id: id, to: target, overwrite: overwrite)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete backup ID and the shared tables no other backup names.")
        @Argument(help: "The backup directory.") var directory: String
        @Argument(help: "The backup's id.") var id: UInt64

        func run() throws {
            try DB.deleteBackup(in: directory, id: id)
        }
    }
}
