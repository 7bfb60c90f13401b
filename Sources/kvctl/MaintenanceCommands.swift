import ArgumentParser
import RingIO
import RingKV
import RingKVTools

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show levels, tables and write-ahead logs.",
        discussion: """
            Read-only: reads the MANIFEST, each table's properties and the live WAL files while \
            holding the database's LOCK, and writes nothing (no recovery runs). Operations still \
            in a WAL are shown under "wal"; the next open moves them into an L0 table.

            Examples:
              kvctl --db /tmp/db stats
              kvctl --db /tmp/db stats --json
            """)

    @ParentCommand var global: KVCtl
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func run() throws {
        let path = try global.databasePath()
        // --create makes an empty database when there is none; an existing
        // one is not opened (opening would run recovery, which writes).
        if global.create && !FileSystem.exists(path + "/CURRENT") { try global.openDatabase().close() }
        let summary: DatabaseSummary
        do { summary = try DatabaseTools.inspect(dbPath: path) } catch let e as DBError { throw CLIError(e) }
        let report = StatsReport(summary: summary, text: global.text)
        let out = StandardOutput()
        try out.line(json ? report.json() : report.table())
        try out.flush()
    }
}

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compact the database (DB.compactRange(), or compactRange(from:to:)).",
        discussion: """
            Without --from and --to the whole key range is compacted. With either, only the \
            tables holding keys in [--from, --to) are (an absent bound is open); --from after --to \
            is an error. --keyspace NAME compacts that keyspace (it must exist).

            Examples:
              kvctl --db /tmp/db compact
              kvctl --db /tmp/db compact --from a --to m
              kvctl --db /tmp/db compact --keyspace users --from user:1000
            """)

    @ParentCommand var global: KVCtl
    @Option(help: ArgumentHelp("Start of the range (inclusive).", valueName: "K")) var from: String?
    @Option(help: ArgumentHelp("End of the range (exclusive).", valueName: "K")) var to: String?
    @Option(help: ArgumentHelp("Compact keyspace NAME (it must exist; default: \"default\").", valueName: "NAME"))
    var keyspace: String?

    func run() throws {
        let fromBytes = try from.map { try global.bytes($0, "--from") }
        let toBytes = try to.map { try global.bytes($0, "--to") }
        let db = try global.openDatabase()
        let target = try global.keyspace(keyspace, in: db)
        do {
            try target.compactRange(from: fromBytes, to: toBytes)
        } catch {
            try? db.close()
            throw error
        }
        try db.close()
        let out = StandardOutput()
        if fromBytes == nil && toBytes == nil {
            try out.line("compacted the whole key range")
        } else {
            let text = global.text
            try out.line("compacted [\(fromBytes.map { text.render($0) } ?? "start"), "
                         + "\(toBytes.map { text.render($0) } ?? "end"))")
        }
        try out.flush()
    }
}

struct Flush: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the memtable to an L0 table (DB.flush()).",
        discussion: """
            Examples:
              kvctl --db /tmp/db flush
            """)

    @ParentCommand var global: KVCtl

    func run() throws {
        let db = try global.openDatabase()
        try db.flush()
        try db.close()
    }
}

struct Checkpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make DIR a consistent copy of the database (DB.checkpoint(to:)).",
        discussion: """
            DIR must not exist; its parent must. Tables are hard-linked (copied when DIR is on \
            another filesystem), the live log is copied, and a MANIFEST describing the copy is \
            written. `kvctl --db DIR …` then opens the copy like any database.

            Examples:
              kvctl --db /tmp/db checkpoint /backups/db-2026-11-28
            """)

    @ParentCommand var global: KVCtl
    @Argument(help: ArgumentHelp("The directory to create.", valueName: "DIR")) var directory: String

    func run() throws {
        let db = try global.openDatabase()
        do { try db.checkpoint(to: directory) } catch let e as DBError { throw CLIError(e) }
        try db.close()
        let out = StandardOutput()
        try out.line("checkpoint written to \(directory)")
        try out.flush()
    }
}
